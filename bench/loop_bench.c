/*
 * loop_bench.c - record loops at N/10, N and 10N rows on SQLite (N = --rows,
 * 100k: 10k, 100k and 1M), issue 11:
 *   loop_<n>     `for rec in recs:each() do s = s + rec.age end` (the
 *                search included) vs a raw column scan handing each age to
 *                Lua (target <= 4.0; the peak heap beside it);
 *   parent_<n>   `rec.parent_id.name` over n children with n distinct
 *                parents vs the raw join handing each name to Lua
 *                (target <= 3.0: it must stay linear in n);
 *   stream_<10N> `P:search_iter({}, { batch = 2000 })` over the largest
 *                size: its peak heap (a server-side cursor, one batch of
 *                records held at a time) against the same column scan.
 * The rows are written with the raw driver (the create paths have their
 * own suites), in a database file of its own next to the SQLite suite's.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* n records, n parents and n children (child i -> parent i). */
static void fill(const char *path, int n)
{
    sqlite3 *db = bench_sqlite_open(path);
    sqlite3_stmt *rec, *par, *kid;
    int i;
    bench_sqlite_exec(db, "DELETE FROM bench_child; DELETE FROM bench_parent; DELETE FROM bench_rec");
    if (sqlite3_prepare_v2(db, "INSERT INTO bench_rec (id, name, email, age, score, active) VALUES (?, ?, ?, ?, ?, 1)",
                           -1, &rec, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO bench_parent (id, name) VALUES (?, ?)", -1, &par, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO bench_child (id, name, parent_id) VALUES (?, ?, ?)", -1, &kid, NULL) != SQLITE_OK)
        bench_die("prepare", sqlite3_errmsg(db));
    bench_sqlite_exec(db, "BEGIN");
    for (i = 1; i <= n; i++) {
        char name[32], email[48];
        snprintf(name, sizeof name, "name %d", i);
        snprintf(email, sizeof email, "user%d@example.com", i);
        sqlite3_bind_int(rec, 1, i);
        sqlite3_bind_text(rec, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(rec, 3, email, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(rec, 4, i % 90);
        sqlite3_bind_double(rec, 5, (i % 1000) / 10.0);
        sqlite3_bind_int(par, 1, i);
        sqlite3_bind_text(par, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(kid, 1, i);
        sqlite3_bind_text(kid, 2, email, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(kid, 3, i);
        if (sqlite3_step(rec) != SQLITE_DONE || sqlite3_step(par) != SQLITE_DONE ||
            sqlite3_step(kid) != SQLITE_DONE)
            bench_die("insert", sqlite3_errmsg(db));
        sqlite3_reset(rec);
        sqlite3_reset(par);
        sqlite3_reset(kid);
    }
    bench_sqlite_exec(db, "COMMIT");
    sqlite3_finalize(rec);
    sqlite3_finalize(par);
    sqlite3_finalize(kid);
    sqlite3_close(db);
}

static double raw_ages(lua_State *L, const char *path)
{
    sqlite3 *db = bench_sqlite_open(path);
    sqlite3_stmt *st;
    lua_Integer sum = 0;
    double t0 = bench_mark();
    if (sqlite3_prepare_v2(db, "SELECT age FROM bench_rec ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        bench_die("prepare", sqlite3_errmsg(db));
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

static double raw_names(lua_State *L, const char *path)
{
    sqlite3 *db = bench_sqlite_open(path);
    sqlite3_stmt *st;
    lua_Integer total = 0;
    double t0 = bench_mark();
    if (sqlite3_prepare_v2(db, "SELECT p.name FROM bench_child c JOIN bench_parent p ON p.id = c.parent_id ORDER BY c.id",
                           -1, &st, NULL) != SQLITE_OK)
        bench_die("prepare", sqlite3_errmsg(db));
    while (sqlite3_step(st) == SQLITE_ROW) {
        lua_pushlstring(L, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
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

void bench_loops(lua_State *L, const char *sqlite_path)
{
    /* --rows N (100k by default): N / 10, N and 10 N */
    const int sizes[] = { bench_rows / 10 > 0 ? bench_rows / 10 : 1, bench_rows, bench_rows * 10 };
    char labels[3][16];
    char path[600], buf[2400];
    size_t k;
    for (k = 0; k < 3; k++) {
        if (sizes[k] % 1000000 == 0)
            snprintf(labels[k], sizeof labels[k], "%dM", sizes[k] / 1000000);
        else if (sizes[k] % 1000 == 0)
            snprintf(labels[k], sizeof labels[k], "%dk", sizes[k] / 1000);
        else
            snprintf(labels[k], sizeof labels[k], "%d", sizes[k]);
    }
    snprintf(path, sizeof path, "%s.loops", sqlite_path);
    remove(path);
    snprintf(buf, sizeof buf,
             "lenv = require('earnorm').connect('sqlite://%s'); lenv:migrate()\n"
             "LR = lenv['bench.rec']:with_context{ active_test = false }\n"
             "LC = lenv['bench.child']\n"
             "function orm_loop()\n"
             "  lenv:invalidate(); lenv:reset_stats()\n"
             "  local recs, sum = LR:search{}, 0\n"
             "  for rec in recs:each() do sum = sum + rec.age end\n"
             "  loop_queries = lenv:stats().queries\n"
             "  orm_sum = sum\n"
             "end\n"
             "function orm_stream()\n"
             "  lenv:invalidate(); lenv:reset_stats()\n"
             "  local sum = 0\n"
             "  for rec in LR:search_iter({}, { batch = 2000 }) do sum = sum + rec.age end\n"
             "  stream_queries = lenv:stats().queries\n"
             "  orm_sum = sum\n"
             "end\n"
             "function orm_parents()\n"
             "  lenv:invalidate(); lenv:reset_stats()\n"
             "  local recs, total = LC:search{}, 0\n"
             "  for rec in recs:each() do total = total + #rec.parent_id.name end\n"
             "  parent_queries = lenv:stats().queries\n"
             "  orm_total = total\n"
             "end\n",
             path);
    bench_lua(L, buf);
    for (k = 0; k < 3; k++) {
        bench_side orm_l = BENCH_SIDE_INIT, raw_l = BENCH_SIDE_INIT, orm_p = BENCH_SIDE_INIT,
                   raw_p = BENCH_SIDE_INIT;
        char name[64], what[96];
        int i;
        fill(path, sizes[k]);
        for (i = 0; i <= bench_runs; i++) {
            BENCH_RUN(L, orm_l, i, bench_lua_timed(L, "orm_loop"));
            BENCH_RUN(L, raw_l, i, raw_ages(L, path));
        }
        bench_lua(L, "assert(orm_sum == raw_sum, 'orm and raw sums differ')");
        snprintf(name, sizeof name, "sqlite.loop_%s", labels[k]);
        snprintf(what, sizeof what, "search + rec.age loop, %s rows, vs a column scan", labels[k]);
        bench_add(name, what, &orm_l, &raw_l, 4.0, bench_lua_int(L, "loop_queries"));
        for (i = 0; i <= bench_runs; i++) {
            BENCH_RUN(L, orm_p, i, bench_lua_timed(L, "orm_parents"));
            BENCH_RUN(L, raw_p, i, raw_names(L, path));
        }
        bench_lua(L, "assert(orm_total == raw_total, 'orm and raw name lengths differ')");
        snprintf(name, sizeof name, "sqlite.parent_%s", labels[k]);
        snprintf(what, sizeof what, "rec.parent_id.name, %s distinct parents, vs the join", labels[k]);
        bench_add(name, what, &orm_p, &raw_p, 3.0, bench_lua_int(L, "parent_queries"));
        if (k == 2) {
            /* the largest: search_iter's cursor, in bounded memory (the
             * peak heap is the point: <= 64 MB beyond the ids at 1M) */
            bench_side orm_s = BENCH_SIDE_INIT, raw_s = BENCH_SIDE_INIT;
            for (i = 0; i <= bench_runs; i++) {
                BENCH_RUN(L, orm_s, i, bench_lua_timed(L, "orm_stream"));
                BENCH_RUN(L, raw_s, i, raw_ages(L, path));
            }
            bench_lua(L, "assert(orm_sum == raw_sum, 'orm and raw sums differ')");
            snprintf(name, sizeof name, "sqlite.stream_%s", labels[k]);
            snprintf(what, sizeof what, "search_iter rec.age, batch 2000, %s rows, vs a column scan",
                     labels[k]);
            bench_add(name, what, &orm_s, &raw_s, 0, bench_lua_int(L, "stream_queries"));
        }
    }
    bench_lua(L, "lenv:invalidate(); lenv:close(); lenv = nil; LR = nil; LC = nil; collectgarbage()");
    remove(path);
    snprintf(buf, sizeof buf, "%s-wal", path);
    remove(buf);
    snprintf(buf, sizeof buf, "%s-shm", path);
    remove(buf);
}
