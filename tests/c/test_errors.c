/*
 * test_errors.c - driver errors reach callers as specific codes with a
 * message that says what to do, caused for real: a full SQLite database
 * (max_page_count set on the adapter's own connections through an SQLite
 * auto-extension), a read-only file, a value past SQLite's length limit, a
 * file that is not a database, a database not migrated; PostgreSQL data
 * exceptions (a column narrowed behind the models' back), an index entry
 * past the server's limit (54000), a read-only database (25006); a MongoDB
 * document past 16 MB.
 *
 * PostgreSQL and MongoDB cases need EARNORM_TEST_PG_URL and
 * EARNORM_TEST_MONGO_URL and fail (never skip) when they are unset.
 */
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

typedef struct fx {
    char dir[512];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    th_tmpdir(f->dir, sizeof f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    th_system("chattr -R -i '%s' >/dev/null 2>&1", f->dir);
    th_rmtree(f->dir);
    free(f);
    return 0;
}

/* err.t: name Char (index), n Integer, blob Binary. */
static eo_registry *registry(void)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    eo_field_spec s;
    eo_error err;
    assert_eo_ok(eo_registry_new(&reg, &err), &err);
    assert_eo_ok(eo_registry_add_model(&m, reg, "err.t", &err), &err);
    memset(&s, 0, sizeof s);
    s.name = "name";
    s.type = EO_FT_CHAR;
    s.flags = EO_FF_INDEX;
    assert_eo_ok(eo_model_add_field(NULL, m, &s, &err), &err);
    s.name = "n";
    s.type = EO_FT_INTEGER;
    s.flags = 0;
    assert_eo_ok(eo_model_add_field(NULL, m, &s, &err), &err);
    s.name = "blob";
    s.type = EO_FT_BINARY;
    assert_eo_ok(eo_model_add_field(NULL, m, &s, &err), &err);
    assert_eo_ok(eo_registry_resolve(reg, &err), &err);
    return reg;
}

typedef struct one {
    const eo_model *m;
    const char *field;
    eo_value v;
} one;

static int one_row(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    one *o = payload;
    (void)i;
    (void)cap;
    (void)err;
    out[0].field = eo_model_field(o->m, o->field, strlen(o->field));
    out[0].value = o->v;
    *n = 1;
    return EO_OK;
}

/* Create `nrows` records with field = v. */
static int create(eo_env *env, eo_registry *reg, const char *field, eo_value v, size_t nrows,
                  eo_error *err)
{
    one o;
    eo_id ids[64];
    o.m = eo_registry_find(reg, "err.t");
    o.field = field;
    o.v = v;
    return eo_orm_create(env, o.m, nrows, one_row, &o, 0, ids, err);
}

static eo_env *open_env(eo_registry *reg, const char *url, int migrate)
{
    eo_env *env = NULL;
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_error err;
    cfg.database_url = url;
    assert_eo_ok(eo_env_open(&env, reg, &cfg, &err), &err);
    if (migrate)
        assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    return env;
}

static int64_t count(eo_env *env, eo_registry *reg)
{
    int64_t n = -1;
    eo_error err;
    assert_eo_ok(eo_orm_search_count(env, eo_registry_find(reg, "err.t"), NULL, &n, &err), &err);
    return n;
}

/* ---- SQLite -------------------------------------------------------- */

/* Every connection SQLite opens in this process to a file whose name ends
 * with "full.db" gets a small max_page_count, one ending with "toobig.db"
 * a small length limit: real SQLite limits, on the adapter's own handles. */
static int limits_extension(sqlite3 *db, char **errmsg, const void *api)
{
    const char *name = sqlite3_db_filename(db, "main");
    size_t n = name ? strlen(name) : 0;
    (void)errmsg;
    (void)api;
    if (n >= 7 && strcmp(name + n - 7, "full.db") == 0)
        sqlite3_exec(db, "PRAGMA max_page_count = 40", NULL, NULL, NULL);
    if (n >= 9 && strcmp(name + n - 9, "toobig.db") == 0)
        sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 2000);
    return SQLITE_OK;
}

typedef void (*sqlite_entry)(void);

static void test_errors__sqlite_disk_full_is_elimit(void **state)
{
    fx *f = *state;
    eo_registry *reg = registry();
    eo_env *env;
    eo_error err;
    char url[700], big[1001];
    int i, rc = EO_OK;
    int64_t before;
    memset(big, 'x', 1000);
    big[1000] = '\0';
    snprintf(url, sizeof url, "sqlite://%s/full.db", f->dir);
    sqlite3_auto_extension((sqlite_entry)limits_extension);
    env = open_env(reg, url, 1);
    /* 40 pages of 4 KB: batches of 10 KB fill it within a few dozen */
    for (i = 0; i < 200 && rc == EO_OK; i++)
        rc = create(env, reg, "blob", eo_blob(big, 1000), 10, &err);
    before = count(env, reg);
    assert_eo_error(rc, &err, EO_ELIMIT, "database or disk is full: the disk is full or the "
                                         "database reached its size limit (max_page_count); "
                                         "free space, then try again");
    assert_int_equal(err.domain, EO_DOMAIN_SQLITE);
    assert_int_equal(err.native & 0xff, SQLITE_FULL);
    assert_true(before > 0 && before % 10 == 0); /* the failed batch wrote nothing */
    /* the connection still works: reads, and deletes that free pages */
    assert_int_equal(count(env, reg), before);
    eo_env_free(env);
    sqlite3_cancel_auto_extension((sqlite_entry)limits_extension);
    eo_registry_free(reg);
}

static void test_errors__sqlite_value_too_big_is_elimit(void **state)
{
    fx *f = *state;
    eo_registry *reg = registry();
    eo_env *env;
    eo_error err;
    char url[700], big[5001];
    memset(big, 'y', 5000);
    big[5000] = '\0';
    snprintf(url, sizeof url, "sqlite://%s/toobig.db", f->dir);
    sqlite3_auto_extension((sqlite_entry)limits_extension);
    env = open_env(reg, url, 1);
    assert_eo_error(create(env, reg, "blob", eo_blob(big, 5000), 1, &err), &err, EO_ELIMIT,
                    "larger than SQLite's length limit (SQLITE_MAX_LENGTH)");
    assert_int_equal(count(env, reg), 0);
    eo_env_free(env);
    sqlite3_cancel_auto_extension((sqlite_entry)limits_extension);
    eo_registry_free(reg);
}

static void test_errors__sqlite_read_only_file_is_enotsup(void **state)
{
    fx *f = *state;
    eo_registry *reg = registry();
    eo_env *env;
    eo_error err;
    char url[700], path[600];
    snprintf(path, sizeof path, "%s/ro.db", f->dir);
    snprintf(url, sizeof url, "sqlite://%s", path);
    env = open_env(reg, url, 1);
    assert_eo_ok(create(env, reg, "name", eo_cstr("kept"), 1, &err), &err);
    eo_env_free(env);
    /* read-only even for root: immutable (chattr), else no write permission */
    if (geteuid() == 0) {
        if (th_system("chattr +i '%s'", path) != 0)
            fail_msg("chattr +i %s failed: this test needs a file root cannot write", path);
    } else {
        assert_int_equal(chmod(path, 0444), 0);
    }
    env = open_env(reg, url, 0);
    assert_int_equal(count(env, reg), 1); /* reading works */
    assert_eo_error(create(env, reg, "name", eo_cstr("new"), 1, &err), &err, EO_ENOTSUP,
                    "attempt to write a readonly database: this database cannot be written here "
                    "(a read-only file, directory or mount); open a writable copy");
    assert_int_equal(err.native & 0xff, SQLITE_READONLY);
    assert_int_equal(count(env, reg), 1);
    eo_env_free(env);
    if (geteuid() == 0)
        th_system("chattr -i '%s'", path);
    eo_registry_free(reg);
}

static void test_errors__sqlite_not_a_database_is_einval(void **state)
{
    fx *f = *state;
    eo_registry *reg = registry();
    eo_env *env = NULL;
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_error err;
    char url[700], path[600];
    th_write_file(path, sizeof path, f->dir, "notes.db",
                  "These are notes, not a database. They are long enough to hold a header's worth "
                  "of bytes, so SQLite reads them and says what they are not.\n");
    snprintf(url, sizeof url, "sqlite://%s", path);
    cfg.database_url = url;
    /* a wrong file is bad input, not an outage to retry (EO_ECONN) */
    assert_eo_error(eo_env_open(&env, reg, &cfg, &err), &err, EO_EINVAL,
                    "file is not a database: the file is not an SQLite database; check the URL");
    eo_env_free(env);
    eo_registry_free(reg);
}

static void test_errors__sqlite_missing_table_says_migrate(void **state)
{
    fx *f = *state;
    eo_registry *reg = registry();
    eo_env *env;
    eo_error err;
    int64_t n = -1;
    char url[700];
    snprintf(url, sizeof url, "sqlite://%s/fresh.db", f->dir);
    env = open_env(reg, url, 0);
    assert_eo_error(eo_orm_search_count(env, eo_registry_find(reg, "err.t"), NULL, &n, &err), &err,
                    EO_ENOTFOUND, "no such table: err_t (the database is older than the models: run migrate)");
    eo_env_free(env);
    eo_registry_free(reg);
}

/* ---- PostgreSQL ---------------------------------------------------- */

/* The test URL with another database name. */
static void pg_url_db(char *out, size_t cap, const char *db)
{
    const char *url = th_pg_url();
    const char *slash = strrchr(url, '/');
    const char *q = strchr(slash, '?');
    snprintf(out, cap, "%.*s/%s%s", (int)(slash - url), url, db, q ? q : "");
}

static void pg_fresh_table(void)
{
    th_pg_exec(th_pg_url(), "DROP TABLE IF EXISTS err_t", NULL, 0);
}

static void test_errors__pg_data_exceptions_are_einval(void **state)
{
    eo_registry *reg = registry();
    eo_env *env;
    eo_error err;
    (void)state;
    pg_fresh_table();
    env = open_env(reg, th_pg_url(), 1);
    /* the table changed behind the models' back: the server refuses */
    th_pg_exec(th_pg_url(),
               "ALTER TABLE err_t ALTER COLUMN name TYPE varchar(3), ALTER COLUMN n TYPE smallint",
               NULL, 0);
    eo_env_free(env);
    env = open_env(reg, th_pg_url(), 0);
    assert_eo_error(create(env, reg, "name", eo_cstr("toolong"), 1, &err), &err, EO_EINVAL,
                    "value too long for type character varying(3) (SQLSTATE 22001)");
    assert_int_equal(err.domain, EO_DOMAIN_PG);
    assert_string_equal(err.model, "err.t");
    assert_eo_error(create(env, reg, "n", eo_int(100000), 1, &err), &err, EO_EINVAL,
                    "out of range for type smallint (SQLSTATE 22003)");
    assert_int_equal(count(env, reg), 0);
    eo_env_free(env);
    pg_fresh_table();
    eo_registry_free(reg);
}

static void test_errors__pg_program_limit_is_elimit(void **state)
{
    eo_registry *reg = registry();
    eo_env *env;
    eo_error err;
    char *big = malloc(12001);
    uint32_t x = 12345;
    size_t i;
    (void)state;
    /* printable noise compresses badly: the index entry stays too large */
    for (i = 0; i < 12000; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)('!' + (x >> 16) % 90);
    }
    big[12000] = '\0';
    pg_fresh_table();
    env = open_env(reg, th_pg_url(), 1);
    assert_eo_error(create(env, reg, "name", eo_cstr(big), 1, &err), &err, EO_ELIMIT,
                    "(SQLSTATE 54000): past a PostgreSQL limit (a value, row, index entry or "
                    "statement too large)");
    assert_non_null(strstr(err.msg, "index row"));
    assert_int_equal(count(env, reg), 0);
    eo_env_free(env);
    free(big);
    pg_fresh_table();
    eo_registry_free(reg);
}

static void test_errors__pg_read_only_is_enotsup(void **state)
{
    eo_registry *reg = registry();
    eo_env *env;
    eo_error err;
    char url[700], db[64], sql[200];
    (void)state;
    snprintf(db, sizeof db, "earnorm_ro_%d", (int)getpid());
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", db);
    th_pg_exec(th_pg_url(), sql, NULL, 0);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    th_pg_exec(th_pg_url(), sql, NULL, 0);
    pg_url_db(url, sizeof url, db);
    env = open_env(reg, url, 1);
    eo_env_free(env);
    snprintf(sql, sizeof sql, "ALTER DATABASE %s SET default_transaction_read_only = on", db);
    th_pg_exec(th_pg_url(), sql, NULL, 0);
    env = open_env(reg, url, 0);
    assert_int_equal(count(env, reg), 0);
    assert_eo_error(create(env, reg, "name", eo_cstr("x"), 1, &err), &err, EO_ENOTSUP,
                    "(SQLSTATE 25006): the server takes no writes here (a standby, or "
                    "default_transaction_read_only)");
    eo_env_free(env);
    snprintf(sql, sizeof sql, "DROP DATABASE %s", db);
    th_pg_exec(th_pg_url(), sql, NULL, 0);
    eo_registry_free(reg);
}

static void test_errors__pg_missing_table_says_migrate(void **state)
{
    eo_registry *reg = registry();
    eo_env *env;
    eo_error err;
    int64_t n = -1;
    (void)state;
    pg_fresh_table();
    env = open_env(reg, th_pg_url(), 0);
    assert_eo_error(eo_orm_search_count(env, eo_registry_find(reg, "err.t"), NULL, &n, &err), &err,
                    EO_ENOTFOUND, "(SQLSTATE 42P01) (the database is older than the models: run migrate)");
    eo_env_free(env);
    eo_registry_free(reg);
}

/* ---- MongoDB ------------------------------------------------------- */

static void test_errors__mongo_document_too_large_is_elimit(void **state)
{
    eo_registry *reg = registry();
    eo_env *env;
    eo_error err;
    const char *url = getenv("EARNORM_TEST_MONGO_URL");
    size_t n = 17u << 20;
    char *big = malloc(n);
    int64_t before;
    (void)state;
    if (url == NULL || *url == '\0')
        fail_msg("EARNORM_TEST_MONGO_URL is not set: start the test services or run make test");
    memset(big, 'z', n);
    env = open_env(reg, url, 1);
    before = count(env, reg);
    assert_eo_error(create(env, reg, "blob", eo_blob(big, n), 1, &err), &err, EO_ELIMIT,
                    "too large");
    assert_non_null(strstr(err.msg, "(a document is limited to the server's maximum, 16 MB on MongoDB)"));
    assert_int_equal(count(env, reg), before);
    eo_env_free(env);
    free(big);
    eo_registry_free(reg);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_errors__sqlite_disk_full_is_elimit),
        T(test_errors__sqlite_value_too_big_is_elimit),
        T(test_errors__sqlite_read_only_file_is_enotsup),
        T(test_errors__sqlite_not_a_database_is_einval),
        T(test_errors__sqlite_missing_table_says_migrate),
        T(test_errors__pg_data_exceptions_are_einval),
        T(test_errors__pg_program_limit_is_elimit),
        T(test_errors__pg_read_only_is_enotsup),
        T(test_errors__pg_missing_table_says_migrate),
        T(test_errors__mongo_document_too_large_is_elimit),
    };
    return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
