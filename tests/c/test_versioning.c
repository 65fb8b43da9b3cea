/*
 * test_versioning.c - optimistic locking, record metadata and history in
 * the C write path: two envs on one database (SQLite file, PostgreSQL,
 * MongoDB) writing through eo_orm_write, a model declared in C with
 * eo_model_log_access / eo_model_versioned / eo_model_track; and two
 * engines writing through the C host API (eo_write_json).
 */
#include <sys/stat.h>

#include "helpers.h"

#define MODEL "cver.item"

/* A registry with cver.item (tag, seq, val; versioned, dated, val
 * tracked) and the history model as the Lua layer declares it. */
static eo_registry *registry(void)
{
    eo_registry *reg = th_registry_simple(MODEL);
    eo_model *m = eo_registry_find(reg, MODEL), *hm = NULL;
    static const struct { const char *name; eo_ftype type; } hf[] = {
        { "model", EO_FT_CHAR }, { "res_id", EO_FT_CHAR }, { "operation", EO_FT_SELECTION },
        { "date", EO_FT_DATETIME }, { "uid", EO_FT_INTEGER }, { "changes", EO_FT_JSON },
    };
    static const char *const ops[] = { "create", "write", "unlink" };
    eo_error err;
    size_t i;
    assert_eo_ok(eo_model_log_access(m, &err), &err);
    assert_eo_ok(eo_model_versioned(m, NULL, &err), &err);
    assert_eo_ok(eo_model_track(m, "val", &err), &err);
    assert_eo_ok(eo_registry_add_model(&hm, reg, EO_HISTORY_MODEL, &err), &err);
    for (i = 0; i < sizeof hf / sizeof hf[0]; i++) {
        eo_field_spec s;
        memset(&s, 0, sizeof s);
        s.name = hf[i].name;
        s.type = hf[i].type;
        if (hf[i].type == EO_FT_SELECTION) {
            s.choices = ops;
            s.nchoices = 3;
        }
        assert_eo_ok(eo_model_add_field(NULL, hm, &s, &err), &err);
    }
    assert_eo_ok(eo_registry_resolve(reg, &err), &err);
    return reg;
}

static eo_env *open_env(eo_registry *reg, const char *url)
{
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_env *env = NULL;
    eo_error err;
    cfg.database_url = url;
    assert_eo_ok(eo_env_open(&env, reg, &cfg, &err), &err);
    return env;
}

static int64_t get_int(eo_env *env, const eo_model *m, eo_id id, const char *field)
{
    const eo_value *v = NULL;
    eo_error err;
    assert_eo_ok(eo_orm_get(env, m, id, th_field(m, field), &id, 1, 0, &v, &err), &err);
    assert_int_equal(v->type, EO_VINT);
    return v->u.i;
}

static int64_t count_where(eo_env *env, const eo_model *m, const char *json)
{
    eo_domain *d = NULL;
    int64_t n = -1;
    eo_error err;
    assert_eo_ok(eo_domain_from_json(&d, json, strlen(json), &err), &err);
    assert_eo_ok(eo_orm_search_count(env, m, d, &n, &err), &err);
    eo_domain_free(d);
    return n;
}

static void id_text(eo_env *env, eo_id id, char *buf, size_t cap)
{
    char hex[25];
    eo_value v = eo_id_to_value(id, eo_env_idkind(env), hex);
    if (v.type == EO_VINT)
        snprintf(buf, cap, "%lld", (long long)v.u.i);
    else
        snprintf(buf, cap, "%s", hex);
}

static void two_writers(const char *url)
{
    eo_registry *reg = registry();
    eo_model *m = eo_registry_find(reg, MODEL), *hm = eo_registry_find(reg, EO_HISTORY_MODEL);
    eo_env *a = open_env(reg, url), *b;
    th_simple_src src = { m, "t", 1 };
    eo_ids all = { 0 };
    eo_id ids[3];
    eo_kv kv;
    eo_error err;
    char want[400], idbuf[32], dom[200];
    const eo_value *cd = NULL, *wd = NULL;
    size_t i;

    assert_eo_ok(eo_env_migrate(a, 0, NULL, NULL, &err), &err);
    /* servers keep their tables: start empty */
    assert_eo_ok(eo_orm_search(a, m, NULL, NULL, -1, 0, &all, &err), &err);
    assert_eo_ok(eo_orm_unlink(a, m, all.v, all.n, &err), &err);
    all.n = 0;
    assert_eo_ok(eo_orm_search(a, hm, NULL, NULL, -1, 0, &all, &err), &err);
    assert_eo_ok(eo_orm_unlink(a, hm, all.v, all.n, &err), &err);
    eo_ids_free(&all);

    assert_eo_ok(eo_orm_create(a, m, 3, th_simple_row, &src, 0, ids, &err), &err);
    for (i = 0; i < 3; i++)
        assert_int_equal(get_int(a, m, ids[i], "version"), 1);
    assert_eo_ok(eo_orm_get(a, m, ids[0], th_field(m, "create_date"), ids, 3, 0, &cd, &err), &err);
    assert_int_equal(cd->type, EO_VTEXT);
    snprintf(want, sizeof want, "%.*s", (int)cd->u.s.n, cd->u.s.p);
    assert_eo_ok(eo_orm_get(a, m, ids[0], th_field(m, "write_date"), ids, 3, 0, &wd, &err), &err);
    assert_string_equal(wd->u.s.p, want);
    assert_int_equal(count_where(a, hm, "[[\"operation\", \"=\", \"create\"]]"), 3);

    /* both envs read version 1; a writes record 2 */
    b = open_env(reg, url);
    for (i = 0; i < 3; i++)
        assert_int_equal(get_int(b, m, ids[i], "version"), 1);
    kv.field = th_field(m, "val");
    kv.value = eo_int(2);
    assert_eo_ok(eo_orm_write(a, m, &ids[1], 1, &kv, 1, 0, &err), &err);
    assert_int_equal(get_int(a, m, ids[1], "version"), 2);

    /* b's batch holds a stale record: all of it fails, nothing is written */
    kv.value = eo_int(7);
    assert_int_equal(eo_orm_write(b, m, ids, 3, &kv, 1, 0, &err), EO_ECONFLICT);
    id_text(b, ids[1], idbuf, sizeof idbuf);
    snprintf(want, sizeof want,
             "cver.item(%s): version conflict: this env read version 1, the database holds "
             "version 2 (another transaction wrote the record since; read it again and retry)",
             idbuf);
    assert_string_equal(err.msg, want);
    assert_int_equal(err.code, EO_ECONFLICT);
    assert_string_equal(err.model, MODEL);
    assert_string_equal(err.field, "version");
    eo_orm_invalidate(a, m, NULL, 0, NULL);
    assert_int_equal(get_int(a, m, ids[0], "val"), 1);
    assert_int_equal(get_int(a, m, ids[1], "val"), 2);
    assert_int_equal(get_int(a, m, ids[2], "val"), 1);
    assert_int_equal(get_int(a, m, ids[0], "version"), 1);
    /* one history row per change that happened: 3 creates, 1 write */
    assert_int_equal(count_where(a, hm, "[[\"model\", \"=\", \"cver.item\"]]"), 4);
    snprintf(dom, sizeof dom, "[[\"res_id\", \"=\", \"%s\"], [\"operation\", \"=\", \"write\"]]",
             idbuf);
    assert_int_equal(count_where(a, hm, dom), 1);

    /* b read again (its store was cleared by the failed write): it passes */
    assert_int_equal(get_int(b, m, ids[1], "version"), 2);
    assert_eo_ok(eo_orm_write(b, m, ids, 3, &kv, 1, 0, &err), &err);
    assert_int_equal(get_int(b, m, ids[1], "version"), 3);
    assert_int_equal(get_int(b, m, ids[0], "version"), 2);
    assert_int_equal(count_where(a, hm, "[[\"operation\", \"=\", \"write\"]]"), 4);

    /* the engine's fields cannot be set */
    kv.field = th_field(m, "version");
    kv.value = eo_int(10);
    assert_eo_error(eo_orm_write(a, m, ids, 1, &kv, 1, 0, &err), &err, EO_EINVAL,
                    "cver.item.version cannot be set: it is the record's version");
    kv.field = th_field(m, "write_date");
    kv.value = eo_cstr("2020-01-01 00:00:00");
    assert_eo_error(eo_orm_write(a, m, ids, 1, &kv, 1, 0, &err), &err, EO_EINVAL,
                    "cver.item.write_date cannot be set: it is record metadata");
    /* nor history records */
    kv.field = th_field(hm, "operation");
    kv.value = eo_cstr("write");
    all.n = 0;
    assert_eo_ok(eo_orm_search(a, hm, NULL, NULL, 1, 0, &all, &err), &err);
    assert_eo_error(eo_orm_write(a, hm, all.v, all.n, &kv, 1, 0, &err), &err, EO_EINVAL,
                    "earnorm.history: cannot write history records");
    eo_ids_free(&all);

    /* a's versions are stale since b's write: its unlink deletes nothing */
    assert_int_equal(eo_orm_unlink(a, m, ids, 3, &err), EO_ECONFLICT);
    id_text(a, ids[0], idbuf, sizeof idbuf);
    snprintf(want, sizeof want,
             "cver.item(%s): version conflict: this env read version 1, the database holds "
             "version 2 (another transaction wrote the record since; read it again and retry)",
             idbuf);
    assert_string_equal(err.msg, want);
    assert_string_equal(err.field, "version");
    assert_int_equal(count_where(b, m, "[]"), 3);
    assert_int_equal(get_int(b, m, ids[0], "version"), 2);
    assert_int_equal(count_where(a, hm, "[[\"operation\", \"=\", \"unlink\"]]"), 0);
    /* read again, the unlink passes and records what was there */
    assert_int_equal(get_int(a, m, ids[0], "version"), 2);
    assert_eo_ok(eo_orm_unlink(a, m, ids, 3, &err), &err);
    assert_int_equal(count_where(b, m, "[]"), 0);
    assert_int_equal(count_where(a, hm, "[[\"operation\", \"=\", \"unlink\"]]"), 3);
    eo_env_free(b);
    eo_env_free(a);
    eo_registry_free(reg);
}

static void test_versioning__two_writers_sqlite(void **state)
{
    char dir[512], url[700];
    (void)state;
    th_tmpdir(dir, sizeof dir);
    snprintf(url, sizeof url, "sqlite://%s/v.db", dir);
    two_writers(url);
    th_rmtree(dir);
}

static void test_versioning__two_writers_postgresql(void **state)
{
    (void)state;
    two_writers(th_pg_url());
}

static void test_versioning__two_writers_mongodb(void **state)
{
    const char *url = getenv("EARNORM_TEST_MONGO_URL");
    (void)state;
    if (url == NULL || *url == '\0')
        fail_msg("EARNORM_TEST_MONGO_URL is not set: start the test services "
                 "(scripts/services.sh start mongo, then source its env.sh) or run make test");
    two_writers(url);
}

/* Tracking without the history model is an error naming both. */
static void test_versioning__history_model_missing(void **state)
{
    eo_registry *reg = th_registry_simple(MODEL);
    eo_model *m = eo_registry_find(reg, MODEL);
    th_simple_src src = { m, "t", 1 };
    eo_env *env;
    eo_id id;
    eo_error err;
    (void)state;
    assert_eo_ok(eo_model_track(m, "val", &err), &err);
    assert_eo_error(eo_model_track(m, "nope", &err), &err, EO_ENOTFOUND,
                    "cver.item: cannot track unknown field 'nope'");
    assert_eo_error(eo_model_versioned(m, "seq", &err), &err, EO_ECONFLICT,
                    "cver.item.seq: _version needs this name");
    env = open_env(reg, "sqlite::memory:");
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    assert_eo_error(eo_orm_create(env, m, 1, th_simple_row, &src, 0, &id, &err), &err, EO_EINVAL,
                    "cver.item tracks fields, but model earnorm.history is not declared");
    assert_int_equal(count_where(env, m, "[]"), 0); /* the create rolled back */
    eo_env_free(env);
    eo_registry_free(reg);
}

/* The C host API: two engines, the JSON calls. */
static const char *const MODELS =
    "local orm = require \"earnorm\"\n"
    "local f = orm.fields\n"
    "return orm.model(\"res.partner\", { _version = true, name = f.Char{ tracking = true } })\n";

static eo_engine *engine(const char *url, const char *models)
{
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_engine *eng = NULL;
    eo_error err;
    cfg.database_url = url;
    assert_eo_ok(eo_engine_open(&eng, &cfg, &err), &err);
    assert_eo_ok(eo_engine_load_models(eng, models, &err), &err);
    assert_eo_ok(eo_engine_migrate(eng, &err), &err);
    return eng;
}

static void test_versioning__host_api(void **state)
{
    char dir[512], url[700], models[600], path[700];
    eo_engine *a, *b;
    char *ids = NULL, *rows = NULL;
    eo_error err;
    (void)state;
    th_tmpdir(dir, sizeof dir);
    snprintf(models, sizeof models, "%s/models", dir);
    assert_int_equal(mkdir(models, 0700), 0);
    th_write_file(path, sizeof path, models, "res_partner.lua", MODELS);
    snprintf(url, sizeof url, "sqlite://%s/host.db", dir);
    a = engine(url, models);
    b = engine(url, models);
    assert_eo_ok(eo_create_json(a, "res.partner", "{\"name\":\"Ann\"}", &ids, &err), &err);
    assert_string_equal(ids, "[1]");
    /* both read version 1 (a row is an object: its keys come in no set order) */
    assert_eo_ok(eo_read_json(a, "res.partner", "[1]", "[\"version\"]", &rows, &err), &err);
    assert_true(strcmp(rows, "[{\"id\":1,\"version\":1}]") == 0 ||
                strcmp(rows, "[{\"version\":1,\"id\":1}]") == 0);
    eo_free(rows);
    assert_eo_ok(eo_read_json(b, "res.partner", "[1]", "[\"version\"]", &rows, &err), &err);
    assert_true(strcmp(rows, "[{\"id\":1,\"version\":1}]") == 0 ||
                strcmp(rows, "[{\"version\":1,\"id\":1}]") == 0);
    eo_free(rows);
    assert_eo_ok(eo_write_json(a, "res.partner", "[1]", "{\"name\":\"Bo\"}", &err), &err);
    assert_int_equal(eo_write_json(b, "res.partner", "[1]", "{\"name\":\"Cy\"}", &err),
                     EO_ECONFLICT);
    assert_string_equal(err.msg, "res.partner(1): version conflict: this env read version 1, "
                                 "the database holds version 2 (another transaction wrote the "
                                 "record since; read it again and retry)");
    assert_string_equal(err.model, "res.partner");
    assert_eo_error(eo_write_json(a, "res.partner", "[1]", "{\"version\":5}", &err), &err,
                    EO_EINVAL, "res.partner.version cannot be set");
    /* rows of every field hold the record metadata */
    assert_eo_ok(eo_engine_eval(b, "local r = env['res.partner']:search_read({})[1]\n"
                                   "return { r.name, r.version, r.create_date ~= nil, "
                                   "r.write_date >= r.create_date, "
                                   "#env['res.partner']:browse(r.id):history() }",
                                &rows, &err), &err);
    assert_string_equal(rows, "[\"Bo\",2,true,true,2]");
    eo_free(rows);
    /* b reads version 2; a writes version 3: b's unlink fails, deletes nothing */
    assert_eo_ok(eo_read_json(b, "res.partner", "[1]", "[\"version\"]", &rows, &err), &err);
    assert_non_null(strstr(rows, "\"version\":2"));
    eo_free(rows);
    assert_eo_ok(eo_write_json(a, "res.partner", "[1]", "{\"name\":\"Di\"}", &err), &err);
    assert_int_equal(eo_unlink_json(b, "res.partner", "[1]", &err), EO_ECONFLICT);
    assert_string_equal(err.msg, "res.partner(1): version conflict: this env read version 2, "
                                 "the database holds version 3 (another transaction wrote the "
                                 "record since; read it again and retry)");
    assert_string_equal(err.model, "res.partner");
    assert_string_equal(err.field, "version");
    assert_eo_ok(eo_read_json(a, "res.partner", "[1]", "[\"name\"]", &rows, &err), &err);
    assert_non_null(strstr(rows, "\"Di\""));
    eo_free(rows);
    /* b read it again (the failure forgot what b held): the unlink passes */
    assert_eo_ok(eo_read_json(b, "res.partner", "[1]", "[\"version\"]", &rows, &err), &err);
    assert_non_null(strstr(rows, "\"version\":3"));
    eo_free(rows);
    assert_eo_ok(eo_unlink_json(b, "res.partner", "[1]", &err), &err);
    assert_eo_ok(eo_engine_eval(a, "return env['res.partner']:search_count{}", &rows, &err), &err);
    assert_string_equal(rows, "0");
    eo_free(rows);
    eo_free(ids);
    eo_engine_close(a);
    eo_engine_close(b);
    th_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versioning__two_writers_sqlite),
        cmocka_unit_test(test_versioning__two_writers_postgresql),
        cmocka_unit_test(test_versioning__two_writers_mongodb),
        cmocka_unit_test(test_versioning__history_model_missing),
        cmocka_unit_test(test_versioning__host_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
