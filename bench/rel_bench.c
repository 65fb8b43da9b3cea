/*
 * rel_bench.c - reading a Many2one's name across N records (issue 5),
 * against the raw driver doing the same join, with the queries issued:
 *   parent_name       search_read{ fields = { "parent_id.name" } } vs the
 *                     join building the same row tables (target <= 2.0);
 *   parent_name_loop  `for rec in recs:each() do rec.parent_id.name end`
 *                     vs the join handing each name to Lua (no tables: a
 *                     record object per row is what the loop pays for).
 *
 * MongoDB has no join on FerretDB (no $lookup), so its raw side is the
 * two-step lookup with libmongoc: one find over the children ({_id,
 * parent_id}, sorted on _id, as search_read asks), the distinct parent
 * ObjectIds, one find {_id: {$in: [...]}} per MG_IN_CHUNK of them
 * projecting name, then the same rows ({ id = <24 hex digits>,
 * ["parent_id.name"] = } per child).
 */
#include <libpq-fe.h>
#include <mongoc/mongoc.h>
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
    t0 = bench_mark();
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
    t0 = bench_mark();
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
    t0 = bench_mark();
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
    t0 = bench_mark();
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

/* ---- MongoDB: the two-step lookup ---- */

/* parents per $in: the ORM loads prefetch_max ids per query (core/env.c) */
#define MG_IN_CHUNK 20000

/*
 * Empty the two collections: drop them (env:migrate makes them again, with
 * the Many2one's index). Neither unlink nor delete_many({}) will do on
 * FerretDB's SQLite backend: 100k documents in one delete overflow its
 * variable limit ("too many SQL variables").
 */
static void mg_drop(const char *url)
{
    static const char *const colls[] = { "bench_child", "bench_parent" };
    char dbname[128];
    mongoc_client_t *client = bench_mongo_open(url, dbname, sizeof dbname);
    bson_error_t be;
    size_t i;
    for (i = 0; i < sizeof colls / sizeof colls[0]; i++) {
        mongoc_collection_t *c = mongoc_client_get_collection(client, dbname, colls[i]);
        if (!mongoc_collection_drop(c, &be) && be.code != 26 /* NamespaceNotFound */)
            bench_die("drop", be.message);
        mongoc_collection_destroy(c);
    }
    mongoc_client_destroy(client);
}

/* The distinct parents: an open-addressing set of ObjectIds, each with its
 * slot (order of first appearance), and the ObjectIds in slot order. */
typedef struct mg_set {
    bson_oid_t *keys; /* cap entries */
    int *slot;        /* cap entries, -1: empty */
    size_t cap;
    bson_oid_t *order; /* n distinct ObjectIds */
    size_t n, ocap;
} mg_set;

static size_t mg_hash(const bson_oid_t *o)
{
    uint64_t a, h;
    uint32_t b;
    memcpy(&a, o->bytes, 8);
    memcpy(&b, o->bytes + 8, 4);
    h = (a ^ ((uint64_t)b << 17) ^ b) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ (h >> 29));
}

static void mg_set_init(mg_set *s, size_t cap)
{
    size_t i;
    s->cap = cap;
    s->keys = malloc(cap * sizeof *s->keys);
    s->slot = malloc(cap * sizeof *s->slot);
    s->ocap = cap / 2;
    s->order = malloc(s->ocap * sizeof *s->order);
    s->n = 0;
    if (s->keys == NULL || s->slot == NULL || s->order == NULL)
        bench_die("malloc", "out of memory");
    for (i = 0; i < cap; i++)
        s->slot[i] = -1;
}

static void mg_set_free(mg_set *s)
{
    free(s->keys);
    free(s->slot);
    free(s->order);
}

/* The slot of o, -1 when absent (add: put it in). */
static int mg_set_slot(mg_set *s, const bson_oid_t *o, int add)
{
    size_t i = mg_hash(o) & (s->cap - 1);
    while (s->slot[i] >= 0) {
        if (memcmp(s->keys[i].bytes, o->bytes, 12) == 0)
            return s->slot[i];
        i = (i + 1) & (s->cap - 1);
    }
    if (!add)
        return -1;
    if (s->n * 2 >= s->cap) {
        /* grow: twice the room, everything in again */
        mg_set big;
        size_t k;
        mg_set_init(&big, s->cap * 2);
        for (k = 0; k < s->n; k++)
            mg_set_slot(&big, &s->order[k], 1);
        mg_set_free(s);
        *s = big;
        return mg_set_slot(s, o, 1);
    }
    s->keys[i] = *o;
    s->slot[i] = (int)s->n;
    s->order[s->n] = *o;
    return (int)s->n++;
}

/*
 * The lookup: rows = 1 leaves the search_read rows in raw_rows, rows = 0
 * hands each child's parent name to Lua (as rec.parent_id.name does) and
 * leaves the total length in raw_total. Returns the time, connection aside.
 */
static double raw_mongo(lua_State *L, const char *url, int rows)
{
    char dbname[128];
    mongoc_client_t *client = bench_mongo_open(url, dbname, sizeof dbname);
    mongoc_collection_t *kids = mongoc_client_get_collection(client, dbname, "bench_child"),
                        *pars = mongoc_client_get_collection(client, dbname, "bench_parent");
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj, sort;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t be;
    bson_oid_t *ids = NULL;
    int *pslot = NULL;
    size_t n = 0, cap = (size_t)bench_rows > 16 ? (size_t)bench_rows : 16, start, i;
    lua_Integer total = 0;
    mg_set set;
    double t0 = bench_mark();

    /* 1. the children, as search_read asks for them */
    ids = malloc(cap * sizeof *ids);
    pslot = malloc(cap * sizeof *pslot);
    if (ids == NULL || pslot == NULL)
        bench_die("malloc", "out of memory");
    mg_set_init(&set, 4096);
    bson_append_document_begin(&opts, "projection", -1, &proj);
    BSON_APPEND_INT32(&proj, "_id", 1);
    BSON_APPEND_INT32(&proj, "parent_id", 1);
    bson_append_document_end(&opts, &proj);
    bson_append_document_begin(&opts, "sort", -1, &sort);
    BSON_APPEND_INT32(&sort, "_id", 1);
    bson_append_document_end(&opts, &sort);
    cur = mongoc_collection_find_with_opts(kids, &filter, &opts, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        int have_id = 0;
        if (n == cap) {
            cap *= 2;
            ids = realloc(ids, cap * sizeof *ids);
            pslot = realloc(pslot, cap * sizeof *pslot);
            if (ids == NULL || pslot == NULL)
                bench_die("malloc", "out of memory");
        }
        pslot[n] = -1;
        if (!bson_iter_init(&it, doc))
            bench_die("raw lookup", "bad document");
        while (bson_iter_next(&it)) {
            if (!BSON_ITER_HOLDS_OID(&it))
                continue; /* a NULL parent: no name */
            if (strcmp(bson_iter_key(&it), "_id") == 0) {
                bson_oid_copy(bson_iter_oid(&it), &ids[n]);
                have_id = 1;
            } else {
                pslot[n] = mg_set_slot(&set, bson_iter_oid(&it), 1);
            }
        }
        if (!have_id)
            bench_die("raw lookup", "a child without an ObjectId");
        n++;
    }
    if (mongoc_cursor_error(cur, &be))
        bench_die("find children", be.message);
    mongoc_cursor_destroy(cur);
    bson_destroy(&opts);

    /* 2. their parents' names, by slot, MG_IN_CHUNK ObjectIds per find */
    lua_createtable(L, (int)set.n, 0);
    bson_init(&opts);
    bson_append_document_begin(&opts, "projection", -1, &proj);
    BSON_APPEND_INT32(&proj, "_id", 1);
    BSON_APPEND_INT32(&proj, "name", 1);
    bson_append_document_end(&opts, &proj);
    for (start = 0; start < set.n; start += MG_IN_CHUNK) {
        size_t end = set.n - start > MG_IN_CHUNK ? start + MG_IN_CHUNK : set.n;
        bson_t in = BSON_INITIALIZER, cond, arr;
        bson_append_document_begin(&in, "_id", 3, &cond);
        bson_append_array_begin(&cond, "$in", 3, &arr);
        for (i = start; i < end; i++) {
            char k[16];
            const char *kp;
            size_t kl = bson_uint32_to_string((uint32_t)(i - start), &kp, k, sizeof k);
            bson_append_oid(&arr, kp, (int)kl, &set.order[i]);
        }
        bson_append_array_end(&cond, &arr);
        bson_append_document_end(&in, &cond);
        cur = mongoc_collection_find_with_opts(pars, &in, &opts, NULL);
        while (mongoc_cursor_next(cur, &doc)) {
            bson_iter_t it;
            int slot = -1;
            const char *name = NULL;
            uint32_t len = 0;
            if (!bson_iter_init(&it, doc))
                bench_die("raw lookup", "bad document");
            while (bson_iter_next(&it)) {
                if (BSON_ITER_HOLDS_OID(&it) && strcmp(bson_iter_key(&it), "_id") == 0)
                    slot = mg_set_slot(&set, bson_iter_oid(&it), 0);
                else if (BSON_ITER_HOLDS_UTF8(&it) && strcmp(bson_iter_key(&it), "name") == 0)
                    name = bson_iter_utf8(&it, &len);
            }
            if (slot >= 0 && name) {
                lua_pushlstring(L, name, len);
                lua_rawseti(L, -2, slot + 1);
            }
        }
        if (mongoc_cursor_error(cur, &be))
            bench_die("find parents", be.message);
        mongoc_cursor_destroy(cur);
        bson_destroy(&in);
    }

    /* 3. what the reader gets: the rows, or each name in Lua */
    if (rows) {
        lua_createtable(L, (int)n, 0);
        for (i = 0; i < n; i++) {
            char hex[25];
            lua_createtable(L, 0, 2);
            bson_oid_to_string(&ids[i], hex);
            lua_pushlstring(L, hex, 24);
            lua_setfield(L, -2, "id");
            if (pslot[i] >= 0 && lua_rawgeti(L, -3, pslot[i] + 1) == LUA_TSTRING)
                lua_setfield(L, -2, "parent_id.name");
            else if (pslot[i] >= 0)
                lua_pop(L, 1); /* a parent without a name */
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_remove(L, -2);
    } else {
        for (i = 0; i < n; i++) {
            if (pslot[i] < 0)
                continue;
            lua_rawgeti(L, -1, pslot[i] + 1);
            total += (lua_Integer)lua_rawlen(L, -1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    t0 = bench_now() - t0;
    if (rows) {
        lua_setglobal(L, "raw_rows");
    } else {
        lua_pushinteger(L, total);
        lua_setglobal(L, "raw_total");
    }
    bson_destroy(&filter);
    bson_destroy(&opts);
    mg_set_free(&set);
    free(ids);
    free(pslot);
    mongoc_collection_destroy(kids);
    mongoc_collection_destroy(pars);
    mongoc_client_destroy(client);
    return t0;
}

/* The raw side of each variant on each backend. */
static double raw_rows_of(lua_State *L, const char *backend, const char *raw)
{
    if (strcmp(backend, "sqlite") == 0)
        return raw_sqlite_rows(L, raw);
    if (strcmp(backend, "mongodb") == 0)
        return raw_mongo(L, raw, 1);
    return raw_pg_rows(L, raw);
}

static double raw_names_of(lua_State *L, const char *backend, const char *raw)
{
    if (strcmp(backend, "sqlite") == 0)
        return raw_sqlite(L, raw);
    if (strcmp(backend, "mongodb") == 0)
        return raw_mongo(L, raw, 0);
    return raw_pg(L, raw);
}

void bench_relations(lua_State *L, const char *backend, const char *url, const char *raw)
{
    bench_side orm = BENCH_SIDE_INIT, rawt = BENCH_SIDE_INIT, orm_r = BENCH_SIDE_INIT,
               raw_r = BENCH_SIDE_INIT;
    char name[64];
    int i, mg = strcmp(backend, "mongodb") == 0;
    if (mg)
        mg_drop(raw); /* emptied here, and not by unlink (see mg_drop) */
    lua_pushinteger(L, bench_rows);
    lua_setglobal(L, "ROWS");
    bench_lua(L, bench_models_lua);
    lua_pushstring(L, url);
    lua_setglobal(L, "RELURL");
    lua_pushboolean(L, !mg);
    lua_setglobal(L, "RELUNLINK");
    bench_lua(L,
              "env = require('earnorm').connect(RELURL); env:migrate()\n"
              "local Pa, C = env['bench.parent'], env['bench.child']\n"
              "if RELUNLINK then C:search{}:unlink(); Pa:search{}:unlink() end\n"
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
              "  assert(#orm_rows == #raw_rows and #orm_rows == ROWS, 'row counts differ')\n"
              "  for i = 1, #orm_rows do\n"
              "    local o, r, no, nr = orm_rows[i], raw_rows[i], 0, 0\n"
              "    for k, v in pairs(o) do\n"
              "      assert(r[k] == v and math.type(r[k]) == math.type(v), 'row ' .. i .. ': ' .. k .. ' differs')\n"
              "      no = no + 1\n"
              "    end\n"
              "    for _ in pairs(r) do nr = nr + 1 end\n"
              "    assert(no == 2 and nr == 2, 'row ' .. i .. ': different keys')\n"
              "  end\n"
              "end\n");
    for (i = 0; i <= bench_runs; i++) {
        bench_lua(L, "reset_results()");
        BENCH_RUN(L, orm_r, i, bench_lua_timed(L, "orm_rows_rel"));
        bench_lua(L, "raw_rows = nil; collectgarbage()");
        BENCH_RUN(L, raw_r, i, raw_rows_of(L, backend, raw));
    }
    bench_lua(L, "check_rows(); reset_results()");
    snprintf(name, sizeof name, "%s.parent_name", backend);
    bench_add(name, mg ? "search_read parent_id.name vs find + $in" :
                         "search_read parent_id.name vs the join into rows",
              &orm_r, &raw_r, 2.0, bench_lua_int(L, "rows_queries"));
    for (i = 0; i <= bench_runs; i++) {
        BENCH_RUN(L, orm, i, bench_lua_timed(L, "orm_rel"));
        BENCH_RUN(L, rawt, i, raw_names_of(L, backend, raw));
    }
    bench_lua(L, "assert(orm_total == raw_total, 'orm and raw read different names')");
    snprintf(name, sizeof name, "%s.parent_name_loop", backend);
    bench_add(name, mg ? "rec.parent_id.name in a loop vs find + $in" :
                         "rec.parent_id.name in a loop vs the join's names",
              &orm, &rawt, mg ? 0 : 3.0, bench_lua_int(L, "rel_queries"));
    bench_lua(L, "if RELUNLINK then env['bench.child']:search{}:unlink(); env['bench.parent']:search{}:unlink() end\n"
                 "env:close(); env = nil; collectgarbage()");
    if (mg)
        mg_drop(raw);
}
