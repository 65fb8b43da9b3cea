/*
 * bench.c - `make bench`: EarnORM against the raw driver, in the same run.
 *
 * One schema of 5 fields (name, email, age, score, active) on a SQLite file.
 *   (a) create 100k records through the Lua model API (one P:create call)
 *       vs raw sqlite3 prepared inserts in one transaction;
 *   (b) search_read of 100k records vs a raw C scan building the same Lua
 *       tables in the same VM;
 *   (c) reading one field across a 100k recordset (prefetch) vs a raw scan
 *       of that column into Lua, with the number of queries it took.
 * Each side runs several times; the best time counts (the machines are
 * shared and noisy: minima are the most repeatable). Ratios are ORM/raw.
 * Results go to stdout and, as JSON, to --out FILE.
 *
 * Usage: earnorm_bench [--rows N] [--runs R] [--out FILE] [--db PATH]
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eo_lua.h"

static int rows = 100000;
static int runs = 3;
static const char *dbpath = "bench.db";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench: %s: %s\n", what, msg);
    exit(1);
}

static void lua_run(lua_State *L, const char *code)
{
    eo_error err;
    char *trace = NULL;
    if (luaL_loadbuffer(L, code, strlen(code), "=bench") != LUA_OK)
        die("load", lua_tostring(L, -1));
    if (eo_lua_pcall(L, 0, 0, &err, &trace) != EO_OK)
        die("lua", trace ? trace : err.msg);
}

/* Time a global Lua function (no arguments). */
static double lua_timed(lua_State *L, const char *fn)
{
    eo_error err;
    char *trace = NULL;
    double t0;
    lua_getglobal(L, fn);
    t0 = now();
    if (eo_lua_pcall(L, 0, 0, &err, &trace) != EO_OK)
        die(fn, trace ? trace : err.msg);
    return now() - t0;
}

static sqlite3 *raw_open(void)
{
    sqlite3 *db;
    if (sqlite3_open(dbpath, &db) != SQLITE_OK)
        die("sqlite3_open", sqlite3_errmsg(db));
    /* the same settings the adapter uses */
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        die(sql, msg);
}

/* The same values the Lua side creates: row i. */
static void row_values(int i, char *name, char *email, int *age, double *score, int *active)
{
    sprintf(name, "name %d", i);
    sprintf(email, "user%d@example.com", i);
    *age = i % 90;
    *score = (i % 1000) / 10.0;
    *active = i % 3 != 0;
}

static double raw_insert(void)
{
    sqlite3 *db = raw_open();
    sqlite3_stmt *st;
    double t0;
    int i;
    raw_exec(db, "DELETE FROM bench_rec");
    t0 = now();
    if (sqlite3_prepare_v2(db, "INSERT INTO bench_rec (name, email, age, score, active) VALUES (?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        die("prepare", sqlite3_errmsg(db));
    raw_exec(db, "BEGIN");
    for (i = 0; i < rows; i++) {
        char name[32], email[48];
        int age, active;
        double score;
        row_values(i, name, email, &age, &score, &active);
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, email, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, age);
        sqlite3_bind_double(st, 4, score);
        sqlite3_bind_int(st, 5, active);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("step", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    raw_exec(db, "COMMIT");
    sqlite3_finalize(st);
    t0 = now() - t0;
    sqlite3_close(db);
    return t0;
}

/* Raw scan building the same tables search_read returns. */
static double raw_scan(lua_State *L)
{
    sqlite3 *db = raw_open();
    sqlite3_stmt *st;
    double t0 = now();
    lua_Integer n = 0;
    if (sqlite3_prepare_v2(db, "SELECT id, name, email, age, score, active FROM bench_rec ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        die("prepare", sqlite3_errmsg(db));
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
    t0 = now() - t0;
    if (n != rows)
        die("raw scan", "wrong row count");
    lua_setglobal(L, "raw_rows"); /* keep it alive like the ORM result */
    sqlite3_close(db);
    return t0;
}

/* Raw read of one column across all rows, summed in Lua. */
static double raw_column(lua_State *L)
{
    sqlite3 *db = raw_open();
    sqlite3_stmt *st;
    double t0 = now();
    lua_Integer sum = 0;
    sqlite3_prepare_v2(db, "SELECT age FROM bench_rec ORDER BY id", -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        lua_pushinteger(L, sqlite3_column_int64(st, 0));
        sum += lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    sqlite3_finalize(st);
    t0 = now() - t0;
    sqlite3_close(db);
    lua_pushinteger(L, sum);
    lua_setglobal(L, "raw_sum");
    return t0;
}

static const char *setup_lua =
    "local orm = require 'earnorm'\n"
    "local f = orm.fields\n"
    "orm.model('bench.rec', { name = f.Char{}, email = f.Char{}, age = f.Integer{},\n"
    "                         score = f.Float{}, active = f.Boolean{} })\n"
    "env = orm.connect(DBURL)\n"
    "env:migrate()\n"
    "P = env['bench.rec']\n"
    "function build()\n"
    "  local list = {}\n"
    "  for i = 0, ROWS - 1 do\n"
    "    list[i + 1] = { name = 'name ' .. i, email = 'user' .. i .. '@example.com',\n"
    "                    age = i % 90, score = (i % 1000) / 10, active = i % 3 ~= 0 }\n"
    "  end\n"
    "  data = list\n"
    "end\n"
    "function clear() P:search{}:unlink(); env:invalidate(); collectgarbage() end\n"
    "function orm_create() local r = P:create(data); assert(#r == ROWS) end\n"
    "FIELDS = { 'name', 'email', 'age', 'score', 'active' }\n"
    "function orm_search_read() orm_rows = P:search_read({}, { fields = FIELDS }); assert(#orm_rows == ROWS) end\n"
    "function orm_field()\n"
    "  env:invalidate(); env:reset_stats()\n"
    "  local recs, sum = P:search{}, 0\n"
    "  for rec in recs:each() do sum = sum + rec.age end\n"
    "  field_queries = env:stats().queries\n"
    "  orm_sum = sum\n"
    "end\n"
    "function reset_results() orm_rows = nil; raw_rows = nil; collectgarbage() end\n";

static double best(double a, double b) { return a < b ? a : b; }

int main(int argc, char **argv)
{
    const char *out = NULL;
    eo_vm *vm;
    lua_State *L;
    eo_error err;
    double orm_c = 1e9, raw_c = 1e9, orm_s = 1e9, raw_s = 1e9, orm_f = 1e9, raw_f = 1e9;
    char buf[512];
    int i;
    long long fq = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
            rows = atoi(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            dbpath = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--rows N] [--runs R] [--out FILE] [--db PATH]\n", argv[0]);
            return 2;
        }
    }
    snprintf(buf, sizeof buf, "%s", dbpath);
    remove(buf);
    snprintf(buf, sizeof buf, "%s-wal", dbpath);
    remove(buf);
    snprintf(buf, sizeof buf, "%s-shm", dbpath);
    remove(buf);
    if (eo_vm_new(&vm, NULL, &err) != EO_OK)
        die("vm", err.msg);
    L = eo_vm_state(vm);
    lua_pushinteger(L, rows);
    lua_setglobal(L, "ROWS");
    snprintf(buf, sizeof buf, "sqlite://%s", dbpath);
    lua_pushstring(L, buf);
    lua_setglobal(L, "DBURL");
    lua_run(L, setup_lua);
    lua_run(L, "build()");

    printf("EarnORM bench: %d rows, best of %d runs, SQLite %s\n", rows, runs, sqlite3_libversion());
    for (i = 0; i < runs; i++) {
        lua_run(L, "clear()");
        orm_c = best(orm_c, lua_timed(L, "orm_create"));
        raw_c = best(raw_c, raw_insert());
    }
    /* the table now holds the raw rows: the same values the ORM wrote */
    lua_run(L, "env:invalidate()");
    for (i = 0; i < runs; i++) {
        lua_run(L, "reset_results()");
        orm_s = best(orm_s, lua_timed(L, "orm_search_read"));
        lua_run(L, "reset_results()");
        raw_s = best(raw_s, raw_scan(L));
    }
    lua_run(L, "reset_results()");
    for (i = 0; i < runs; i++) {
        orm_f = best(orm_f, lua_timed(L, "orm_field"));
        raw_f = best(raw_f, raw_column(L));
    }
    lua_getglobal(L, "field_queries");
    fq = lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_run(L, "assert(orm_sum == raw_sum, 'orm and raw sums differ')");

    printf("(a) create %d via Lua API    %8.1f ms   raw sqlite3 inserts %8.1f ms   ratio %.2f (target <= 2.0)\n",
           rows, orm_c * 1e3, raw_c * 1e3, orm_c / raw_c);
    printf("(b) search_read %d           %8.1f ms   raw scan to Lua     %8.1f ms   ratio %.2f (target <= 3.0)\n",
           rows, orm_s * 1e3, raw_s * 1e3, orm_s / raw_s);
    printf("(c) read one field x %d      %8.1f ms   raw column scan     %8.1f ms   ratio %.2f (%lld queries)\n",
           rows, orm_f * 1e3, raw_f * 1e3, orm_f / raw_f, fq);
    if (out) {
        FILE *f = fopen(out, "w");
        if (f == NULL)
            die("open", out);
        fprintf(f,
                "{\n  \"rows\": %d,\n  \"runs\": %d,\n  \"backend\": \"sqlite\",\n"
                "  \"create\": { \"orm_ms\": %.2f, \"raw_ms\": %.2f, \"ratio\": %.3f, \"target\": 2.0 },\n"
                "  \"search_read\": { \"orm_ms\": %.2f, \"raw_ms\": %.2f, \"ratio\": %.3f, \"target\": 3.0 },\n"
                "  \"read_field\": { \"orm_ms\": %.2f, \"raw_ms\": %.2f, \"ratio\": %.3f, \"queries\": %lld }\n}\n",
                rows, runs, orm_c * 1e3, raw_c * 1e3, orm_c / raw_c, orm_s * 1e3, raw_s * 1e3,
                orm_s / raw_s, orm_f * 1e3, raw_f * 1e3, orm_f / raw_f, fq);
        fclose(f);
        printf("written %s\n", out);
    }
    eo_vm_free(vm);
    return 0;
}
