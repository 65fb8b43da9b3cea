/*
 * bench.c - `make bench`: EarnORM against the raw driver, in the same run.
 *
 * Suites (see their files): sqlite_bench.c (create, search_read, one field
 * across a recordset), pg_bench.c (create vs COPY, search_read),
 * mongo_bench.c (create vs insert_many, search_read vs a find cursor), and
 * rel_bench.c (partner_id.name across 100k records vs a join; on MongoDB
 * vs a two-step lookup), loop_bench.c (record loops and the distinct-parent
 * Many2one loop at 10k, 100k and 1M rows on SQLite). Each side runs several times and the best time
 * counts: the machines are shared and noisy, and minima are the most
 * repeatable. One more, untimed run of each side counts its heap
 * (memcount.c): the peak bytes allocated above where it started, by the
 * core, Lua and the drivers alike. Ratios are ORM / raw.
 *
 * Usage: earnorm_bench [--rows N] [--runs R] [--out FILE] [--sqlite PATH]
 *                      [--pg URL] [--mongo URL] [--skip-relations] [--skip-1m]
 *                      [--only sqlite|postgresql|mongodb|domains]
 * --pg defaults to $EARNORM_TEST_PG_URL and --mongo to
 * $EARNORM_TEST_MONGO_URL; without one the PostgreSQL (MongoDB) suites are
 * skipped (make bench starts the servers, so they run there). --only runs
 * one backend's suites (the relations suite with them, unless skipped).
 * --skip-1m leaves out the 1M-row PostgreSQL create (about 20 s).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

int bench_rows = 100000, bench_runs = 3, bench_big = 1;

#define MAX_RESULTS 64
static bench_result results[MAX_RESULTS];
static int nresults;

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_die(const char *what, const char *msg)
{
    fprintf(stderr, "bench: %s: %s\n", what, msg);
    exit(1);
}

void bench_lua(lua_State *L, const char *code)
{
    eo_error err;
    char *trace = NULL;
    if (luaL_loadbuffer(L, code, strlen(code), "=bench") != LUA_OK)
        bench_die("load", lua_tostring(L, -1));
    if (eo_lua_pcall(L, 0, 0, &err, &trace) != EO_OK) {
        fprintf(stderr, "bench: %s\n", err.msg);
        bench_die("lua", trace ? trace : err.msg);
    }
}

double bench_lua_timed(lua_State *L, const char *fn)
{
    eo_error err;
    char *trace = NULL;
    double t0;
    lua_getglobal(L, fn);
    t0 = bench_mark();
    if (eo_lua_pcall(L, 0, 0, &err, &trace) != EO_OK)
        bench_die(fn, trace ? trace : err.msg);
    return bench_now() - t0;
}

long long bench_lua_int(lua_State *L, const char *global)
{
    long long v;
    lua_getglobal(L, global);
    v = (long long)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return v;
}

static int counted_run; /* the heap is counted from the next bench_mark */

void bench_side_start(lua_State *L, bench_side *side, int run)
{
    (void)side;
    if (run == 0) {
        lua_gc(L, LUA_GCCOLLECT);
        counted_run = 1;
        bench_mem_begin();
    }
}

double bench_mark(void)
{
    if (counted_run)
        bench_mem_begin(); /* what the side set up before (a connection) is not its cost */
    return bench_now();
}

void bench_side_take(bench_side *side, int run, double seconds)
{
    if (run == 0) {
        side->peak = bench_mem_end();
        counted_run = 0;
    } else if (seconds < side->s) {
        side->s = seconds;
    }
}

static void print_mb(long long bytes)
{
    printf("%8.1f MB", (double)bytes / (1024.0 * 1024.0));
}

void bench_add(const char *name, const char *what, const bench_side *orm, const bench_side *raw,
               double target, long long queries)
{
    bench_result *r;
    if (nresults == MAX_RESULTS)
        bench_die("results", "too many");
    r = &results[nresults++];
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->what, sizeof r->what, "%s", what);
    r->orm_ms = orm->s * 1e3;
    r->raw_ms = raw->s * 1e3;
    r->orm_peak = orm->peak;
    r->raw_peak = raw->peak;
    r->target = target;
    r->queries = queries;
    printf("%-22s %-44s orm %9.1f ms  raw %9.1f ms  ratio %5.2f", r->name, r->what, r->orm_ms,
           r->raw_ms, r->orm_ms / r->raw_ms);
    if (target > 0)
        printf("  (target <= %g%s)", target, r->orm_ms / r->raw_ms <= target ? "" : " MISSED");
    if (queries >= 0)
        printf("  %lld queries", queries);
    putchar('\n');
    if (r->orm_peak >= 0 && r->raw_peak > 0) {
        printf("%-22s %-44s orm ", "", "  peak heap");
        print_mb(r->orm_peak);
        printf("  raw ");
        print_mb(r->raw_peak);
        printf("  ratio %5.2f\n", (double)r->orm_peak / (double)r->raw_peak);
    }
    fflush(stdout);
}

static int domains_ran;

static void write_json(const char *path)
{
    FILE *f = fopen(path, "w");
    int i;
    if (f == NULL)
        bench_die("open", path);
    fprintf(f, "{\n  \"rows\": %d,\n  \"runs\": %d,\n", bench_rows, bench_runs);
    if (domains_ran)
        bench_domains_json(f);
    fprintf(f, "  \"results\": {\n");
    for (i = 0; i < nresults; i++) {
        const bench_result *r = &results[i];
        fprintf(f, "    \"%s\": { \"what\": \"%s\", \"orm_ms\": %.2f, \"raw_ms\": %.2f, \"ratio\": %.3f",
                r->name, r->what, r->orm_ms, r->raw_ms, r->orm_ms / r->raw_ms);
        if (r->target > 0)
            fprintf(f, ", \"target\": %g, \"met\": %s", r->target,
                    r->orm_ms / r->raw_ms <= r->target ? "true" : "false");
        if (r->queries >= 0)
            fprintf(f, ", \"queries\": %lld", r->queries);
        if (r->orm_peak >= 0 && r->raw_peak > 0)
            fprintf(f, ", \"orm_peak_bytes\": %lld, \"raw_peak_bytes\": %lld, \"mem_ratio\": %.3f",
                    r->orm_peak, r->raw_peak, (double)r->orm_peak / (double)r->raw_peak);
        fprintf(f, " }%s\n", i + 1 < nresults ? "," : "");
    }
    fprintf(f, "  }\n}\n");
    fclose(f);
    printf("written %s\n", path);
}

int main(int argc, char **argv)
{
    const char *out = NULL, *sqlite = "bench.db", *pg = getenv("EARNORM_TEST_PG_URL");
    const char *mongo = getenv("EARNORM_TEST_MONGO_URL"), *only = NULL;
    int i, relations = 1, loops = 1;
    eo_vm *vm;
    eo_error err;
    char url[512];

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
            bench_rows = atoi(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            bench_runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if ((strcmp(argv[i], "--sqlite") == 0 || strcmp(argv[i], "--db") == 0) && i + 1 < argc)
            sqlite = argv[++i];
        else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc)
            pg = argv[++i];
        else if (strcmp(argv[i], "--mongo") == 0 && i + 1 < argc)
            mongo = argv[++i];
        else if (strcmp(argv[i], "--skip-relations") == 0)
            relations = 0;
        else if (strcmp(argv[i], "--skip-loops") == 0)
            loops = 0;
        else if (strcmp(argv[i], "--skip-1m") == 0)
            bench_big = 0;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc &&
                 (strcmp(argv[i + 1], "sqlite") == 0 || strcmp(argv[i + 1], "postgresql") == 0 ||
                  strcmp(argv[i + 1], "mongodb") == 0 || strcmp(argv[i + 1], "domains") == 0))
            only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--rows N] [--runs R] [--out FILE] [--sqlite PATH] [--pg URL] [--mongo URL] [--skip-relations] [--skip-loops] [--skip-1m] [--only sqlite|postgresql|mongodb|domains]\n",
                    argv[0]);
            return 2;
        }
    }
    if (eo_vm_new(&vm, NULL, &err) != EO_OK)
        bench_die("vm", err.msg);
    printf("EarnORM bench: %d rows, best of %d runs\n", bench_rows, bench_runs);
    if (!bench_mem_available())
        printf("(peak heap not counted: this build has its own malloc, AddressSanitizer)\n");
    if (only == NULL || strcmp(only, "sqlite") == 0) {
        bench_sqlite(eo_vm_state(vm), sqlite);
        if (loops)
            bench_loops(eo_vm_state(vm), sqlite);
        if (relations) {
            snprintf(url, sizeof url, "sqlite://%s", sqlite);
            bench_relations(eo_vm_state(vm), "sqlite", url, sqlite);
            bench_m2o_create(eo_vm_state(vm), "sqlite", url, sqlite);
            bench_recompute(eo_vm_state(vm), "sqlite", url, sqlite);
        }
    }
    if (only == NULL || strcmp(only, "postgresql") == 0) {
        if (pg && *pg) {
            bench_pg(eo_vm_state(vm), pg);
            if (relations) {
                bench_relations(eo_vm_state(vm), "postgresql", pg, pg);
                bench_m2o_create(eo_vm_state(vm), "postgresql", pg, pg);
                bench_recompute(eo_vm_state(vm), "postgresql", pg, pg);
            }
        } else {
            printf("(no PostgreSQL URL: set EARNORM_TEST_PG_URL or --pg, or run make bench)\n");
        }
    }
    if (only == NULL || strcmp(only, "mongodb") == 0) {
        if (mongo && *mongo) {
            bench_mongo(eo_vm_state(vm), mongo);
            if (relations)
                bench_relations(eo_vm_state(vm), "mongodb", mongo, mongo);
        } else {
            printf("(no MongoDB URL: set EARNORM_TEST_MONGO_URL or --mongo, or run make bench)\n");
        }
    }
    if (only == NULL || strcmp(only, "domains") == 0) {
        bench_domains();
        domains_ran = 1;
    }
    if (out)
        write_json(out);
    eo_vm_free(vm);
    return 0;
}
