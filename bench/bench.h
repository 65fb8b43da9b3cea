/*
 * bench.h - shared pieces of `make bench`: timing, Lua helpers, results.
 */
#ifndef EARNORM_BENCH_H
#define EARNORM_BENCH_H

#include "eo_lua.h"

typedef struct bench_result {
    char name[64];        /* "sqlite.create" */
    char what[96];        /* a line for humans */
    double orm_ms, raw_ms;
    double target;        /* 0: none */
    long long queries;    /* -1: not counted */
} bench_result;

extern int bench_rows, bench_runs;

double bench_now(void);
void bench_die(const char *what, const char *msg);
void bench_lua(lua_State *L, const char *code);
/* Time the global Lua function fn (no arguments). */
double bench_lua_timed(lua_State *L, const char *fn);
long long bench_lua_int(lua_State *L, const char *global);
void bench_add(const char *name, const char *what, double orm_s, double raw_s, double target,
               long long queries);

/* the suites */
void bench_sqlite(lua_State *L, const char *path);
void bench_pg(lua_State *L, const char *url);
void bench_mongo(lua_State *L, const char *url);
void bench_relations(lua_State *L, const char *backend, const char *url, const char *raw);

#endif
