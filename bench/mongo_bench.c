/*
 * mongo_bench.c - the MongoDB suite: create through the Lua model API vs
 * raw libmongoc insert_many of the same documents (target <= 1.5), and
 * search_read vs a raw find cursor building the same Lua tables (target
 * <= 1.5). Both sides talk to the same server in the same run.
 *
 * The raw documents are what the adapter writes (mongo_bson.c, mg__append):
 * an ObjectId _id, then name and email as UTF-8, age as int64, score as a
 * double, active as a boolean. The raw cursor asks for the same projection
 * and order as search_read ({_id, name, email, age, score, active}, sorted
 * on _id) and builds { id = <24 hex digits>, name =, email =, age =,
 * score =, active = } per document, as search_read gives them.
 */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "common.lua.h"

typedef struct raw_conn {
    mongoc_client_t *client;
    char dbname[128];
    mongoc_collection_t *coll;
} raw_conn;

mongoc_client_t *bench_mongo_open(const char *url, char *dbname, size_t dbsize)
{
    mongoc_client_t *client;
    mongoc_uri_t *uri;
    bson_error_t be;
    bson_t cmd = BSON_INITIALIZER;
    const char *db;
    mongoc_init(); /* once per process; the adapter's atexit cleans up */
    uri = mongoc_uri_new_with_error(url, &be);
    if (uri == NULL)
        bench_die("mongoc_uri_new", be.message);
    /* what the adapter sets too: a missing server fails in seconds */
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 3000);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, 3000);
    db = mongoc_uri_get_database(uri);
    client = mongoc_client_new_from_uri_with_error(uri, &be);
    if (client == NULL)
        bench_die("mongoc_client_new", be.message);
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    BSON_APPEND_INT32(&cmd, "ping", 1);
    if (!mongoc_client_command_simple(client, "admin", &cmd, NULL, NULL, &be))
        bench_die(url, be.message);
    bson_destroy(&cmd);
    snprintf(dbname, dbsize, "%s", db && *db ? db : "earnorm");
    mongoc_uri_destroy(uri);
    return client;
}

static raw_conn raw_open(const char *url)
{
    raw_conn c;
    c.client = bench_mongo_open(url, c.dbname, sizeof c.dbname);
    c.coll = mongoc_client_get_collection(c.client, c.dbname, "bench_rec");
    return c;
}

static void raw_close(raw_conn *c)
{
    mongoc_collection_destroy(c->coll);
    mongoc_client_destroy(c->client);
}

/*
 * TRUNCATE: drop the collection and create it again, empty (bench_rec has
 * no index but _id's). delete_many({}) is no option: FerretDB's SQLite
 * backend deletes 100k documents in one statement and overflows its
 * variable limit ("too many SQL variables").
 */
static void raw_clear(raw_conn *c)
{
    mongoc_database_t *db = mongoc_client_get_database(c->client, c->dbname);
    mongoc_collection_t *made;
    bson_error_t be;
    if (!mongoc_collection_drop(c->coll, &be) && be.code != 26 /* NamespaceNotFound */)
        bench_die("drop", be.message);
    made = mongoc_database_create_collection(db, "bench_rec", NULL, &be);
    if (made == NULL)
        bench_die("create", be.message);
    mongoc_collection_destroy(made);
    mongoc_database_destroy(db);
}

/* Row i as the adapter stores it. */
static bson_t *raw_doc(int i)
{
    char name[32], email[48];
    int age, active;
    double score;
    bson_oid_t oid;
    bson_t *d = bson_new();
    bench_row(i, name, email, &age, &score, &active);
    bson_oid_init(&oid, NULL);
    bson_append_oid(d, "_id", 3, &oid);
    bson_append_utf8(d, "name", 4, name, -1);
    bson_append_utf8(d, "email", 5, email, -1);
    bson_append_int64(d, "age", 3, age);
    bson_append_double(d, "score", 5, score);
    bson_append_bool(d, "active", 6, active != 0);
    return d;
}

static double raw_insert(const char *url)
{
    raw_conn c = raw_open(url);
    bson_t **docs = malloc((size_t)bench_rows * sizeof *docs);
    bson_error_t be;
    double t0;
    int i;
    if (docs == NULL)
        bench_die("malloc", "out of memory");
    raw_clear(&c);
    t0 = bench_mark();
    for (i = 0; i < bench_rows; i++)
        docs[i] = raw_doc(i);
    if (!mongoc_collection_insert_many(c.coll, (const bson_t **)docs, (size_t)bench_rows, NULL,
                                       NULL, &be))
        bench_die("insert_many", be.message);
    for (i = 0; i < bench_rows; i++)
        bson_destroy(docs[i]);
    t0 = bench_now() - t0;
    free(docs);
    raw_close(&c);
    return t0;
}

static double raw_scan(lua_State *L, const char *url)
{
    raw_conn c = raw_open(url);
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj, sort;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t be;
    lua_Integer n = 0;
    double t0 = bench_mark();
    bson_append_document_begin(&opts, "projection", -1, &proj);
    BSON_APPEND_INT32(&proj, "_id", 1);
    BSON_APPEND_INT32(&proj, "name", 1);
    BSON_APPEND_INT32(&proj, "email", 1);
    BSON_APPEND_INT32(&proj, "age", 1);
    BSON_APPEND_INT32(&proj, "score", 1);
    BSON_APPEND_INT32(&proj, "active", 1);
    bson_append_document_end(&opts, &proj);
    bson_append_document_begin(&opts, "sort", -1, &sort);
    BSON_APPEND_INT32(&sort, "_id", 1);
    bson_append_document_end(&opts, &sort);
    cur = mongoc_collection_find_with_opts(c.coll, &filter, &opts, NULL);
    lua_createtable(L, bench_rows, 0);
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        lua_createtable(L, 0, 6);
        if (!bson_iter_init(&it, doc))
            bench_die("raw scan", "bad document");
        while (bson_iter_next(&it)) {
            const char *key = bson_iter_key(&it);
            uint32_t len;
            switch (bson_iter_type(&it)) {
            case BSON_TYPE_OID: {
                char hex[25];
                bson_oid_to_string(bson_iter_oid(&it), hex);
                lua_pushlstring(L, hex, 24);
                if (strcmp(key, "_id") == 0)
                    key = "id";
                break;
            }
            case BSON_TYPE_UTF8: {
                const char *s = bson_iter_utf8(&it, &len);
                lua_pushlstring(L, s, len);
                break;
            }
            case BSON_TYPE_INT32:
            case BSON_TYPE_INT64: lua_pushinteger(L, bson_iter_as_int64(&it)); break;
            case BSON_TYPE_DOUBLE: lua_pushnumber(L, bson_iter_double(&it)); break;
            case BSON_TYPE_BOOL: lua_pushboolean(L, bson_iter_bool(&it)); break;
            default: continue; /* NULL: left out, as search_read leaves it nil */
            }
            lua_setfield(L, -2, key);
        }
        lua_rawseti(L, -2, ++n);
    }
    if (mongoc_cursor_error(cur, &be))
        bench_die("find", be.message);
    mongoc_cursor_destroy(cur);
    t0 = bench_now() - t0;
    bson_destroy(&filter);
    bson_destroy(&opts);
    if (n != bench_rows)
        bench_die("raw scan", "wrong document count");
    lua_setglobal(L, "raw_rows");
    raw_close(&c);
    return t0;
}

/*
 * The documents the ORM wrote have the raw documents' shape: the same keys,
 * in the same order, with the same BSON types (checked once, untimed).
 */
static void check_shape(const char *url)
{
    raw_conn c = raw_open(url);
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort, *mine = raw_doc(0);
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_iter_t a, b;
    BSON_APPEND_INT64(&opts, "limit", 1);
    bson_append_document_begin(&opts, "sort", -1, &sort);
    BSON_APPEND_INT32(&sort, "_id", 1);
    bson_append_document_end(&opts, &sort);
    cur = mongoc_collection_find_with_opts(c.coll, &filter, &opts, NULL);
    if (!mongoc_cursor_next(cur, &doc))
        bench_die("check", "the ORM wrote no documents");
    bson_iter_init(&a, doc);
    bson_iter_init(&b, mine);
    for (;;) {
        int na = bson_iter_next(&a), nb = bson_iter_next(&b);
        if (na != nb)
            bench_die("check", "the ORM's documents and the raw ones have different fields");
        if (!na)
            break;
        if (strcmp(bson_iter_key(&a), bson_iter_key(&b)) != 0 ||
            bson_iter_type(&a) != bson_iter_type(&b))
            bench_die("check", "the ORM's documents and the raw ones differ in keys or types");
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(mine);
    bson_destroy(&filter);
    bson_destroy(&opts);
    raw_close(&c);
}

void bench_mongo(lua_State *L, const char *url)
{
    bench_side orm_c = BENCH_SIDE_INIT, raw_c = BENCH_SIDE_INIT, orm_s = BENCH_SIDE_INIT,
               raw_s = BENCH_SIDE_INIT;
    long long q_create, q_search;
    raw_conn c;
    int i;
    lua_pushinteger(L, bench_rows);
    lua_setglobal(L, "ROWS");
    bench_lua(L, bench_models_lua);
    lua_pushstring(L, url);
    lua_setglobal(L, "MGURL");
    bench_lua(L, "env = require('earnorm').connect(MGURL); env:migrate(); P = env['bench.rec']:with_context{ active_test = false }\n"
                 "function check_rows()\n"
                 "  assert(#orm_rows == #raw_rows, 'row counts differ')\n"
                 "  for i = 1, #orm_rows do\n"
                 "    local o, r = orm_rows[i], raw_rows[i]\n"
                 "    for _, k in ipairs{ 'id', 'name', 'email', 'age', 'score', 'active' } do\n"
                 "      assert(o[k] == r[k] and math.type(o[k]) == math.type(r[k]),\n"
                 "             'row ' .. i .. ': ' .. k .. ' differs')\n"
                 "    end\n"
                 "    local no, nr = 0, 0\n"
                 "    for _ in pairs(o) do no = no + 1 end\n"
                 "    for _ in pairs(r) do nr = nr + 1 end\n"
                 "    assert(no == nr, 'row ' .. i .. ': different keys')\n"
                 "  end\n"
                 "end\n");
    for (i = 0; i <= bench_runs; i++) {
        c = raw_open(url);
        raw_clear(&c);
        raw_close(&c);
        bench_lua(L, "env:invalidate(); collectgarbage(); env:reset_stats()");
        BENCH_RUN(L, orm_c, i, bench_lua_timed(L, "orm_create"));
        if (i == 0)
            check_shape(url);
        BENCH_RUN(L, raw_c, i, raw_insert(url));
    }
    bench_lua(L, "orm_queries = env:stats().queries");
    q_create = bench_lua_int(L, "orm_queries");
    bench_add("mongodb.create", "create via the Lua API vs raw insert_many", &orm_c, &raw_c, 1.5,
              q_create);
    /* the collection now holds the raw documents: the same values the ORM wrote */
    bench_lua(L, "env:invalidate()");
    for (i = 0; i <= bench_runs; i++) {
        bench_lua(L, "reset_results(); env:reset_stats()");
        BENCH_RUN(L, orm_s, i, bench_lua_timed(L, "orm_search_read"));
        bench_lua(L, "orm_queries = env:stats().queries; reset_results()");
        BENCH_RUN(L, raw_s, i, raw_scan(L, url));
    }
    q_search = bench_lua_int(L, "orm_queries");
    /* once more, untimed: both sides built the same tables */
    bench_lua(L, "reset_results()");
    bench_lua_timed(L, "orm_search_read");
    raw_scan(L, url);
    bench_lua(L, "check_rows(); reset_results()");
    bench_add("mongodb.search_read", "search_read vs a raw cursor into Lua tables", &orm_s,
              &raw_s, 1.5, q_search);
    c = raw_open(url);
    raw_clear(&c);
    raw_close(&c);
    bench_lua(L, "env:close(); env = nil; P = nil; collectgarbage()");
}
