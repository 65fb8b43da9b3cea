/*
 * pg_bench.c - the PostgreSQL suite: create through the Lua model API vs
 * raw libpq COPY of the same rows (target <= 2.0; and at 10k / 100k / 1M
 * rows, target <= 1.5), search_read vs a raw query building the same Lua
 * tables, and 2000 single-record creates and writes vs prepared statements
 * in autocommit (target <= 1.5).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "common.lua.h"

PGconn *bench_pg_open(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        bench_die("PQconnectdb", PQerrorMessage(c));
    return c;
}

void bench_pg_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        bench_die(sql, PQerrorMessage(c));
    PQclear(r);
}

void bench_pg_copy_begin(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        bench_die("COPY", PQerrorMessage(c));
    PQclear(r);
}

void bench_pg_copy_put(PGconn *c, const char *buf, size_t len)
{
    if (PQputCopyData(c, buf, (int)len) != 1)
        bench_die("PQputCopyData", PQerrorMessage(c));
}

void bench_pg_copy_end(PGconn *c)
{
    PGresult *r;
    if (PQputCopyEnd(c, NULL) != 1)
        bench_die("PQputCopyEnd", PQerrorMessage(c));
    r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bench_die("COPY end", PQerrorMessage(c));
    PQclear(r);
}

static double raw_copy_n(const char *url, int nrows)
{
    PGconn *c = bench_pg_open(url);
    char *buf;
    size_t cap = 1 << 20, len = 0;
    double t0;
    int i;
    bench_pg_exec(c, "TRUNCATE bench_rec");
    buf = malloc(cap);
    if (!buf)
        bench_die("malloc", "out of memory");
    t0 = bench_mark();
    bench_pg_copy_begin(c, "COPY bench_rec (name, email, age, score, active) FROM STDIN");
    for (i = 0; i < nrows; i++) {
        char name[32], email[48];
        int age, active;
        double score;
        bench_row(i, name, email, &age, &score, &active);
        len += (size_t)snprintf(buf + len, cap - len, "%s\t%s\t%d\t%.17g\t%c\n", name, email, age,
                                score, active ? 't' : 'f');
        if (len > cap - 256 || i + 1 == nrows) {
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

static double raw_copy(const char *url) { return raw_copy_n(url, bench_rows); }

/* n single-row INSERTs, prepared, each its own autocommit statement. */
static double raw_single_inserts(const char *url, int n)
{
    PGconn *c = bench_pg_open(url);
    PGresult *r;
    double t0;
    int i;
    bench_pg_exec(c, "TRUNCATE bench_rec");
    r = PQprepare(c, "ins",
                  "INSERT INTO bench_rec (name, email, age, score, active) VALUES ($1, $2, $3, $4, $5) "
                  "RETURNING id",
                  5, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bench_die("PQprepare", PQerrorMessage(c));
    PQclear(r);
    t0 = bench_mark();
    for (i = 0; i < n; i++) {
        char name[32], email[48], age_s[16], score_s[32];
        const char *vals[5];
        int age, active;
        double score;
        bench_row(i, name, email, &age, &score, &active);
        snprintf(age_s, sizeof age_s, "%d", age);
        snprintf(score_s, sizeof score_s, "%.17g", score);
        vals[0] = name;
        vals[1] = email;
        vals[2] = age_s;
        vals[3] = score_s;
        vals[4] = active ? "true" : "false";
        r = PQexecPrepared(c, "ins", 5, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            bench_die("INSERT", PQerrorMessage(c));
        if (strtoll(PQgetvalue(r, 0, 0), NULL, 10) <= 0)
            bench_die("INSERT", "no id");
        PQclear(r);
    }
    t0 = bench_now() - t0;
    PQfinish(c);
    return t0;
}

/* n single-row UPDATEs by id (the ids in Lua's global SINGLE_IDS), prepared, autocommit. */
static double raw_single_updates(lua_State *L, const char *url, int n)
{
    PGconn *c = bench_pg_open(url);
    PGresult *r;
    long long *ids = malloc((size_t)n * sizeof *ids);
    double t0;
    int i;
    lua_getglobal(L, "SINGLE_IDS");
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, -1, i + 1);
        ids[i] = (long long)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    r = PQprepare(c, "upd", "UPDATE bench_rec SET age = $1, score = $2 WHERE id = $3", 3, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bench_die("PQprepare", PQerrorMessage(c));
    PQclear(r);
    t0 = bench_mark();
    for (i = 0; i < n; i++) {
        char age_s[16], score_s[32], id_s[24];
        const char *vals[3];
        snprintf(age_s, sizeof age_s, "%d", i % 50);
        snprintf(score_s, sizeof score_s, "%.17g", i / 7.0);
        snprintf(id_s, sizeof id_s, "%lld", ids[i]);
        vals[0] = age_s;
        vals[1] = score_s;
        vals[2] = id_s;
        r = PQexecPrepared(c, "upd", 3, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdTuples(r), "1") != 0)
            bench_die("UPDATE", PQerrorMessage(c));
        PQclear(r);
    }
    t0 = bench_now() - t0;
    free(ids);
    PQfinish(c);
    return t0;
}

static void truncate_rec(const char *url)
{
    PGconn *c = bench_pg_open(url);
    bench_pg_exec(c, "TRUNCATE bench_rec");
    PQfinish(c);
}

#define SINGLE_N 2000

/* Create at 10k / 100k / 1M rows vs raw COPY of the same rows. */
static void bench_pg_sizes(lua_State *L, const char *url)
{
    static const int sizes[] = { 10000, 100000, 1000000 };
    static const char *const names[] = { "postgresql.create_10k", "postgresql.create_100k",
                                         "postgresql.create_1m" };
    size_t k;
    char code[128];
    int i;
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        bench_side orm = BENCH_SIDE_INIT, raw = BENCH_SIDE_INIT;
        if (sizes[k] >= 1000000 && !bench_big)
            continue;
        snprintf(code, sizeof code, "SIZED = make_data(%d); collectgarbage()", sizes[k]);
        bench_lua(L, code);
        for (i = 0; i <= bench_runs; i++) {
            truncate_rec(url);
            bench_lua(L, "env:invalidate(); collectgarbage()");
            BENCH_RUN(L, orm, i, bench_lua_timed(L, "orm_create_sized"));
            BENCH_RUN(L, raw, i, raw_copy_n(url, sizes[k]));
        }
        bench_lua(L, "SIZED = nil; env:invalidate(); collectgarbage()");
        snprintf(code, sizeof code, "create %dk rows via the Lua API vs raw COPY", sizes[k] / 1000);
        bench_add(names[k], code, &orm, &raw, 1.5, bench_lua_int(L, "sized_queries"));
    }
    truncate_rec(url);
}

/* SINGLE_N single-record creates, then writes, vs prepared statements in autocommit. */
static void bench_pg_single(lua_State *L, const char *url)
{
    bench_side orm_c = BENCH_SIDE_INIT, raw_c = BENCH_SIDE_INIT, orm_w = BENCH_SIDE_INIT,
               raw_w = BENCH_SIDE_INIT;
    /* a run is ~0.1 s and latency-bound (one round trip a record): more
     * runs, so the best of them is not one a busy machine slowed */
    int i, runs = bench_runs * 3;
    for (i = 0; i <= runs; i++) {
        truncate_rec(url);
        bench_lua(L, "env:invalidate(); collectgarbage()");
        BENCH_RUN(L, orm_c, i, bench_lua_timed(L, "orm_single_create"));
        BENCH_RUN(L, raw_c, i, raw_single_inserts(url, SINGLE_N));
    }
    bench_add("postgresql.create_one", "2000 single-record creates vs prepared INSERTs",
              &orm_c, &raw_c, 1.5, bench_lua_int(L, "single_queries"));
    /* the rows written: the raw side's last run left SINGLE_N of them */
    bench_lua(L, "env:invalidate(); single_setup()");
    for (i = 0; i <= runs; i++) {
        BENCH_RUN(L, orm_w, i, bench_lua_timed(L, "orm_single_write"));
        BENCH_RUN(L, raw_w, i, raw_single_updates(L, url, SINGLE_N));
    }
    bench_add("postgresql.write_one", "2000 single-record writes vs prepared UPDATEs",
              &orm_w, &raw_w, 1.5, bench_lua_int(L, "single_queries"));
    bench_lua(L, "SINGLE_RECS = nil; SINGLE_IDS = nil; env:invalidate(); collectgarbage()");
    truncate_rec(url);
}

static const char *pg_extra_lua =
    "function make_data(n)\n"
    "  local list = {}\n"
    "  for i = 0, n - 1 do\n"
    "    list[i + 1] = { name = 'name ' .. i, email = 'user' .. i .. '@example.com',\n"
    "                    age = i % 90, score = (i % 1000) / 10, active = i % 3 ~= 0 }\n"
    "  end\n"
    "  return list\n"
    "end\n"
    "function orm_create_sized()\n"
    "  env:reset_stats()\n"
    "  local r = P:create(SIZED); assert(#r == #SIZED)\n"
    "  sized_queries = env:stats().queries\n"
    "end\n"
    "SINGLE = make_data(2000)\n"
    "function orm_single_create()\n"
    "  env:reset_stats()\n"
    "  for i = 1, #SINGLE do P:create(SINGLE[i]) end\n"
    "  single_queries = env:stats().queries\n"
    "end\n"
    "function single_setup()\n"
    "  SINGLE_RECS, SINGLE_IDS = {}, {}\n"
    "  for rec in P:search({}, { order = 'id' }):each() do\n"
    "    SINGLE_RECS[#SINGLE_RECS + 1] = P:browse(rec.id); SINGLE_IDS[#SINGLE_IDS + 1] = rec.id\n"
    "  end\n"
    "  assert(#SINGLE_RECS == #SINGLE, 'single_setup: ' .. #SINGLE_RECS .. ' rows')\n"
    "end\n"
    "function orm_single_write()\n"
    "  env:reset_stats()\n"
    "  for i = 1, #SINGLE_RECS do SINGLE_RECS[i]:write{ age = (i - 1) % 50, score = (i - 1) / 7 } end\n"
    "  single_queries = env:stats().queries\n"
    "end\n";

static double raw_scan(lua_State *L, const char *url)
{
    PGconn *c = bench_pg_open(url);
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
        c = bench_pg_open(url);
        bench_pg_exec(c, "TRUNCATE bench_rec");
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
    bench_lua(L, pg_extra_lua);
    bench_pg_sizes(L, url);
    bench_pg_single(L, url);
    c = bench_pg_open(url);
    bench_pg_exec(c, "TRUNCATE bench_rec");
    PQfinish(c);
    snprintf(buf, sizeof buf, "env:close(); env = nil; P = nil; SINGLE = nil; collectgarbage()");
    bench_lua(L, buf);
}
