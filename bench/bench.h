/*
 * bench.h - shared pieces of `make bench`: timing, Lua helpers, results.
 */
#ifndef EARNORM_BENCH_H
#define EARNORM_BENCH_H

#include <stdio.h>

#include "eo_lua.h"

/* One side of a comparison: its best time, and its peak heap. */
typedef struct bench_side {
    double s;             /* the best of the timed runs, seconds */
    long long peak;       /* heap bytes at the peak of the counted run; -1: not counted */
} bench_side;
#define BENCH_SIDE_INIT { 1e9, -1 }

typedef struct bench_result {
    char name[64];        /* "sqlite.create" */
    char what[96];        /* a line for humans */
    double orm_ms, raw_ms;
    long long orm_peak, raw_peak; /* bytes; -1: not counted */
    double target;        /* 0: none */
    long long queries;    /* -1: not counted */
} bench_result;

extern int bench_rows, bench_runs;
/* the 1M-row sizes run (--skip-1m turns them off) */
extern int bench_big;

/* ---- heap counting (memcount.c) ---- */
int bench_mem_available(void);
/* Count the heap from now on, from 0. */
void bench_mem_begin(void);
/* Stop counting; the highest total seen since bench_mem_begin (bytes). */
long long bench_mem_end(void);

/*
 * Run one side: run 0 counts the heap (after a full garbage collection,
 * so Lua's leftovers are not collected inside the window; from the side's
 * bench_mark to its end) and is not timed; runs 1..bench_runs are timed and the best counts. Loops go
 * `for (i = 0; i <= bench_runs; i++)`.
 */
void bench_side_start(lua_State *L, bench_side *side, int run);
/* bench_now() where the measured part of a side starts (after connecting,
 * preparing...): its time, and on the counted run the heap, from here. */
double bench_mark(void);
void bench_side_take(bench_side *side, int run, double seconds);
#define BENCH_RUN(L, side, run, expr)                                                         \
    do {                                                                                      \
        bench_side_start((L), &(side), (run));                                                \
        bench_side_take(&(side), (run), (expr));                                              \
    } while (0)

double bench_now(void);
void bench_die(const char *what, const char *msg);
void bench_lua(lua_State *L, const char *code);
/* Time the global Lua function fn (no arguments). */
double bench_lua_timed(lua_State *L, const char *fn);
long long bench_lua_int(lua_State *L, const char *global);
void bench_add(const char *name, const char *what, const bench_side *orm, const bench_side *raw,
               double target, long long queries);

/* A libmongoc client on url, pinged (dies when the server is not there);
 * its database name into dbname ("earnorm" when the URL has none). */
struct _mongoc_client_t *bench_mongo_open(const char *url, char *dbname, size_t dbsize);

/* the suites */
void bench_sqlite(lua_State *L, const char *path);
/* sqlite_bench.c: a raw connection with the adapter's settings; a statement or die. */
struct sqlite3;
struct sqlite3 *bench_sqlite_open(const char *path);
void bench_sqlite_exec(struct sqlite3 *db, const char *sql);
void bench_loops(lua_State *L, const char *sqlite_path);
void bench_pg(lua_State *L, const char *url);
/* pg_bench.c: a raw libpq connection or die; a statement or die; COPY ...
 * FROM STDIN begun, a buffer of its rows sent, and ended, or die. */
struct pg_conn;
struct pg_conn *bench_pg_open(const char *url);
void bench_pg_exec(struct pg_conn *c, const char *sql);
void bench_pg_copy_begin(struct pg_conn *c, const char *sql);
void bench_pg_copy_put(struct pg_conn *c, const char *buf, size_t len);
void bench_pg_copy_end(struct pg_conn *c);
void bench_mongo(lua_State *L, const char *url);
void bench_relations(lua_State *L, const char *backend, const char *url, const char *raw);
/* create with a Many2one (the target check) vs the same rows with a plain integer column */
void bench_m2o_create(lua_State *L, const char *backend, const char *url, const char *raw);
void bench_recompute(lua_State *L, const char *backend, const char *url, const char *raw);
void bench_domains(void);
void bench_domains_json(FILE *f);

#endif
