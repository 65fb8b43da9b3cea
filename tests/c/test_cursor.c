/*
 * test_cursor.c - streaming searches (eo_orm_cursor_open/next/close) on
 * SQLite (:memory:, whose pool has one connection the cursor shares),
 * PostgreSQL (DECLARE/FETCH: a read transaction on a connection of its
 * own, or the caller's transaction) and MongoDB (find/getMore on FerretDB):
 * 10k records read 1000 at a time give every id once, in order, with the
 * statement counts the cursor promises (1 to open, ceil(N/n) to read),
 * loads and writes between batches, windows, empty results, a failure
 * mid-way, an early close, a freed env, an adapter without cursors.
 */
#include "helpers.h"

#define MODEL "ccur.item"
#define N 10000

extern const eo_adapter eo_sqlite_adapter;

/* An allocator that fails every allocation while `failing` is set. */
static int failing;
static void *t_malloc(size_t n, void *p) { (void)p; return failing ? NULL : malloc(n); }
static void *t_realloc(void *q, size_t n, void *p) { (void)p; return failing ? NULL : realloc(q, n); }
static void t_free(void *q, void *p) { (void)p; free(q); }

typedef struct fixture {
    eo_registry *reg;
    eo_model *m;
    eo_env *env;
    eo_ids all;      /* every id, by seq (seq 1..N) */
} fixture;

static void setup(fixture *f, const char *url)
{
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    th_simple_src src;
    eo_ids old = { 0 };
    eo_id *ids;
    eo_error err;
    memset(f, 0, sizeof *f);
    f->reg = th_registry_simple(MODEL);
    f->m = eo_registry_find(f->reg, MODEL);
    cfg.database_url = url;
    assert_eo_ok(eo_env_open(&f->env, f->reg, &cfg, &err), &err);
    assert_eo_ok(eo_env_migrate(f->env, 0, NULL, NULL, &err), &err);
    assert_eo_ok(eo_orm_search(f->env, f->m, NULL, NULL, -1, 0, &old, &err), &err);
    assert_eo_ok(eo_orm_unlink(f->env, f->m, old.v, old.n, &err), &err);
    eo_ids_free(&old);
    src.m = f->m;
    src.tag = "t";
    src.base = 1;
    ids = malloc(N * sizeof *ids);
    assert_non_null(ids);
    assert_eo_ok(eo_orm_create(f->env, f->m, N, th_simple_row, &src, 0, ids, &err), &err);
    assert_eo_ok(eo_orm_search(f->env, f->m, NULL, "seq", -1, 0, &f->all, &err), &err);
    assert_int_equal(f->all.n, N);
    assert_memory_equal(f->all.v, ids, N * sizeof *ids);
    free(ids);
    eo_orm_invalidate(f->env, f->m, NULL, 0, NULL);
}

static void teardown(fixture *f)
{
    eo_ids_free(&f->all);
    eo_env_free(f->env);
    eo_registry_free(f->reg);
}

static eo_domain *domain(const char *json)
{
    eo_domain *d = NULL;
    eo_error err;
    if (json == NULL)
        return NULL;
    assert_eo_ok(eo_domain_from_json(&d, json, strlen(json), &err), &err);
    return d;
}

static uint64_t queries(eo_env *env)
{
    eo_stats st;
    eo_env_stats(env, &st);
    return st.queries;
}

static uint64_t cursors(eo_env *env)
{
    eo_stats st;
    eo_env_stats(env, &st);
    return st.cursors;
}

static size_t in_use(eo_env *env)
{
    eo_pool_stats ps;
    eo_pool_get_stats(eo_env_pool(env), &ps);
    return ps.in_use;
}

/*
 * Stream (domain, order, limit, offset) n at a time: the ids must be what
 * eo_orm_search gives, in its order; the cursor sends 1 + max(1,
 * ceil(total/n)) statements (0 when nothing is asked). With `load`, the
 * seq of each batch is read through the store (one query per batch).
 */
static void stream(fixture *f, const char *json, const char *order, int64_t limit,
                   int64_t offset, size_t n, int load, size_t want_total)
{
    eo_domain *d = domain(json), *d2 = domain(json);
    eo_ids want = { 0 }, got = { 0 }, batch = { 0 };
    eo_cursor *cur = NULL;
    const eo_field *seq = th_field(f->m, "seq");
    uint64_t q0, calls = 0, loads = 0;
    size_t i;
    eo_error err;

    assert_eo_ok(eo_orm_search(f->env, f->m, d2, order, limit, offset, &want, &err), &err);
    assert_int_equal(want.n, want_total);
    eo_orm_invalidate(f->env, f->m, NULL, 0, NULL);
    q0 = queries(f->env);
    assert_eo_ok(eo_orm_cursor_open(&cur, f->env, f->m, d, order, limit, offset, &err), &err);
    for (;;) {
        batch.n = 0;
        assert_eo_ok(eo_orm_cursor_next(cur, n, &batch, &err), &err);
        calls++;
        if (batch.n == 0)
            break;
        assert_true(batch.n <= n);
        if (load) {
            /* a load between batches: on SQLite the cursor's connection, on
             * PostgreSQL another one, on MongoDB the held one */
            const eo_value *v = NULL;
            for (i = 0; i < batch.n; i++) {
                assert_eo_ok(eo_orm_get(f->env, f->m, batch.v[i], seq, batch.v, batch.n, i, &v,
                                        &err), &err);
                assert_int_equal(v->type, EO_VINT);
                /* seq of the k-th id of all is k + 1 */
                assert_true(v->u.i >= 1 && v->u.i <= N);
                assert_true(eo_id_equal(f->all.v[v->u.i - 1], batch.v[i]));
            }
            loads++;
            eo_orm_invalidate(f->env, f->m, batch.v, batch.n, NULL);
        }
        for (i = 0; i < batch.n; i++)
            assert_eo_ok(eo_ids_push(&got, batch.v[i]), &err);
        if (eo_orm_cursor_done(cur))
            break;
    }
    assert_true(eo_orm_cursor_done(cur));
    assert_int_equal(cursors(f->env), 0);
    /* ended at the last rows: nothing more is asked */
    batch.n = 0;
    assert_eo_ok(eo_orm_cursor_next(cur, n, &batch, &err), &err);
    assert_int_equal(batch.n, 0);
    eo_orm_cursor_close(cur);
    assert_int_equal(got.n, want.n);
    if (want.n)
        assert_memory_equal(got.v, want.v, want.n * sizeof *want.v);
    if ((json && strstr(json, "\"in\", []")) || limit == 0) {
        assert_int_equal(queries(f->env) - q0, 0);
    } else {
        uint64_t fetches = want_total ? (want_total + n - 1) / n : 1;
        assert_int_equal(queries(f->env) - q0, 1 + fetches + loads);
        (void)calls;
    }
    eo_ids_free(&want);
    eo_ids_free(&got);
    eo_ids_free(&batch);
    eo_domain_free(d);
    eo_domain_free(d2);
}

/* A failed call mid-way ends the cursor: the server's side closed, the
 * connection back in the pool, later calls refused, the env usable. */
static void fail_midway(fixture *f)
{
    eo_cursor *cur = NULL;
    eo_ids batch = { 0 }, again = { 0 };
    eo_error err;
    int rc;
    assert_eo_ok(eo_orm_cursor_open(&cur, f->env, f->m, NULL, "seq", -1, 0, &err), &err);
    assert_eo_ok(eo_orm_cursor_next(cur, 1000, &batch, &err), &err);
    assert_int_equal(batch.n, 1000);
    assert_int_equal(cursors(f->env), 1);
    assert_int_equal(in_use(f->env), 1);
    eo_ids_free(&batch);
    failing = 1; /* the ids array cannot grow: the first row fails */
    rc = eo_orm_cursor_next(cur, 1000, &batch, &err);
    failing = 0;
    assert_eo_error(rc, &err, EO_ENOMEM, "out of memory");
    assert_int_equal(cursors(f->env), 0);
    assert_int_equal(in_use(f->env), 0);
    assert_true(eo_orm_cursor_done(cur));
    rc = eo_orm_cursor_next(cur, 1000, &batch, &err);
    assert_eo_error(rc, &err, EO_EINVAL, "the cursor is closed: an earlier call on it failed");
    eo_orm_cursor_close(cur);
    assert_eo_ok(eo_orm_search(f->env, f->m, NULL, "seq", 5, 0, &again, &err), &err);
    assert_int_equal(again.n, 5);
    assert_memory_equal(again.v, f->all.v, 5 * sizeof *again.v);
    eo_ids_free(&again);
    eo_ids_free(&batch);
}

/* Closing before the end gives the connection back; so does freeing the env. */
static void close_early(fixture *f, const char *url)
{
    eo_cursor *cur = NULL;
    eo_ids batch = { 0 }, again = { 0 };
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_env *env2 = NULL;
    eo_error err;
    int rc;
    assert_eo_ok(eo_orm_cursor_open(&cur, f->env, f->m, NULL, "seq desc", -1, 0, &err), &err);
    assert_eo_ok(eo_orm_cursor_next(cur, 10, &batch, &err), &err);
    assert_int_equal(batch.n, 10);
    assert_memory_equal(&batch.v[0], &f->all.v[N - 1], sizeof batch.v[0]);
    assert_int_equal(cursors(f->env), 1);
    assert_false(eo_orm_cursor_done(cur));
    eo_orm_cursor_close(cur);
    assert_int_equal(cursors(f->env), 0);
    assert_int_equal(in_use(f->env), 0);
    assert_eo_ok(eo_orm_search(f->env, f->m, NULL, "seq", 3, 0, &again, &err), &err);
    assert_int_equal(again.n, 3);

    /* two at once, then the env freed under them: they only close */
    if (strstr(url, ":memory:") == NULL) {
        eo_cursor *a = NULL, *b = NULL;
        cfg.database_url = url;
        assert_eo_ok(eo_env_open(&env2, f->reg, &cfg, &err), &err);
        assert_eo_ok(eo_orm_cursor_open(&a, env2, f->m, NULL, "seq", -1, 0, &err), &err);
        assert_eo_ok(eo_orm_cursor_open(&b, env2, f->m, NULL, "seq desc", -1, 0, &err), &err);
        batch.n = 0;
        assert_eo_ok(eo_orm_cursor_next(a, 3, &batch, &err), &err);
        assert_eo_ok(eo_orm_cursor_next(b, 3, &batch, &err), &err);
        assert_int_equal(batch.n, 6);
        assert_memory_equal(&batch.v[0], &f->all.v[0], sizeof batch.v[0]);
        assert_memory_equal(&batch.v[3], &f->all.v[N - 1], sizeof batch.v[0]);
        assert_int_equal(cursors(env2), 2);
        eo_env_free(env2);
        rc = eo_orm_cursor_next(a, 3, &batch, &err);
        assert_eo_error(rc, &err, EO_EINVAL, "its environment was freed");
        eo_orm_cursor_close(a);
        eo_orm_cursor_close(b);
    }
    eo_ids_free(&batch);
    eo_ids_free(&again);
}

/* Inside a transaction the cursor reads on the transaction's connection,
 * between the transaction's own statements (a write per batch). */
static void in_transaction(fixture *f)
{
    eo_cursor *cur = NULL;
    eo_ids batch = { 0 };
    eo_kv kv;
    eo_error err;
    int64_t n = -1;
    size_t total = 0;
    eo_domain *d = domain("[[\"val\", \"=\", 2]]");
    kv.field = th_field(f->m, "val");
    kv.value = eo_int(2);
    assert_eo_ok(eo_env_begin(f->env, EO_ISO_DEFAULT, &err), &err);
    assert_eo_ok(eo_orm_cursor_open(&cur, f->env, f->m, NULL, "seq", -1, 0, &err), &err);
    assert_int_equal(in_use(f->env), 1);
    do {
        batch.n = 0;
        assert_eo_ok(eo_orm_cursor_next(cur, 1000, &batch, &err), &err);
        if (batch.n)
            assert_eo_ok(eo_orm_write(f->env, f->m, batch.v, batch.n, &kv, 1, 0, &err), &err);
        total += batch.n;
    } while (batch.n);
    eo_orm_cursor_close(cur);
    assert_eo_ok(eo_env_commit(f->env, &err), &err);
    assert_int_equal(total, N);
    assert_int_equal(in_use(f->env), 0);
    assert_eo_ok(eo_orm_search_count(f->env, f->m, d, &n, &err), &err);
    assert_int_equal(n, N);
    eo_domain_free(d);
    eo_ids_free(&batch);
}

static void run(const char *url, int txn)
{
    fixture f;
    setup(&f, url);
    stream(&f, NULL, "seq", -1, 0, 1000, 1, N);                      /* 10 fetches, exactly */
    stream(&f, "[[\"seq\", \">\", 2500]]", "seq desc", -1, 0, 1000, 0, 7500);
    stream(&f, NULL, "seq", 2500, 100, 1000, 1, 2500);               /* a window */
    stream(&f, NULL, "seq", -1, 9990, 7, 0, 10);                     /* a short last batch */
    stream(&f, "[[\"seq\", \"<\", 0]]", NULL, -1, 0, 1000, 0, 0);    /* empty: 1 + 1 */
    stream(&f, "[[\"id\", \"in\", []]]", NULL, -1, 0, 1000, 0, 0);   /* FALSE: nothing sent */
    stream(&f, NULL, "seq", 0, 0, 1000, 0, 0);                        /* limit 0: nothing sent */
    fail_midway(&f);
    close_early(&f, url);
    if (txn)
        in_transaction(&f);
    teardown(&f);
}

static void test_cursor__sqlite(void **state)
{
    (void)state;
    run("sqlite::memory:", 1);
}

static void test_cursor__sqlite_file(void **state)
{
    char dir[512], url[700];
    (void)state;
    th_tmpdir(dir, sizeof dir);
    snprintf(url, sizeof url, "sqlite://%s/c.db", dir);
    run(url, 1);
    th_rmtree(dir);
}

static void test_cursor__postgresql(void **state)
{
    (void)state;
    run(th_pg_url(), 1);
}

static void test_cursor__mongodb(void **state)
{
    const char *url = getenv("EARNORM_TEST_MONGO_URL");
    (void)state;
    if (url == NULL || *url == '\0')
        fail_msg("EARNORM_TEST_MONGO_URL is not set: start the test services "
                 "(scripts/services.sh start mongo, then source its env.sh) or run make test");
    run(url, 0); /* FerretDB has no transactions */
}

/* PostgreSQL: the cursor's backend killed mid-way is EO_ECONN; the broken
 * connection is dropped and the env goes on with another. */
static void test_cursor__postgresql_connection_lost(void **state)
{
    fixture f;
    eo_cursor *cur = NULL;
    eo_ids batch = { 0 }, again = { 0 };
    eo_error err;
    char killed[32];
    int rc;
    (void)state;
    setup(&f, th_pg_url());
    assert_eo_ok(eo_orm_cursor_open(&cur, f.env, f.m, NULL, "seq", -1, 0, &err), &err);
    assert_eo_ok(eo_orm_cursor_next(cur, 1000, &batch, &err), &err);
    th_pg_exec(th_pg_url(),
               "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
               "WHERE query LIKE 'FETCH % FROM eo_cur_%' AND pid <> pg_backend_pid()",
               killed, sizeof killed);
    assert_string_equal(killed, "1");
    rc = eo_orm_cursor_next(cur, 1000, &batch, &err);
    assert_eo_error(rc, &err, EO_ECONN, "postgresql");
    assert_int_equal(cursors(f.env), 0);
    assert_int_equal(in_use(f.env), 0);
    eo_orm_cursor_close(cur);
    assert_eo_ok(eo_orm_search(f.env, f.m, NULL, "seq", 2, 0, &again, &err), &err);
    assert_int_equal(again.n, 2);
    eo_ids_free(&batch);
    eo_ids_free(&again);
    teardown(&f);
}

/* An adapter without cursor entries: EO_ENOTSUP naming it; bad arguments. */
static void test_cursor__unsupported_and_misuse(void **state)
{
    static eo_adapter plain;
    eo_registry *reg = th_registry_simple(MODEL);
    eo_model *m = eo_registry_find(reg, MODEL);
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_env *env = NULL;
    eo_cursor *cur = NULL;
    eo_ids ids = { 0 };
    eo_error err;
    char dir[512], url[700];
    int rc;
    (void)state;
    th_tmpdir(dir, sizeof dir);
    /* a scheme of its own reads the path after "//host/" */
    snprintf(url, sizeof url, "plaincursorless:///%s/p.db", dir);
    plain = eo_sqlite_adapter;
    plain.name = "plain";
    plain.scheme = "plaincursorless";
    plain.cursor_open = NULL;
    plain.cursor_next = NULL;
    plain.cursor_close = NULL;
    assert_eo_ok(eo_adapter_register(&plain, &err), &err);
    cfg.database_url = url;
    assert_eo_ok(eo_env_open(&env, reg, &cfg, &err), &err);
    rc = eo_orm_cursor_open(&cur, env, m, NULL, NULL, -1, 0, &err);
    assert_eo_error(rc, &err, EO_ENOTSUP, "ccur.item: the plain adapter has no server-side cursors");
    assert_null(cur);
    eo_env_free(env);

    cfg.database_url = "sqlite::memory:";
    assert_eo_ok(eo_env_open(&env, reg, &cfg, &err), &err);
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    rc = eo_orm_cursor_open(NULL, env, m, NULL, NULL, -1, 0, &err);
    assert_int_equal(rc, EO_EINVAL);
    rc = eo_orm_cursor_open(&cur, env, m, NULL, "nosuch", -1, 0, &err);
    assert_eo_error(rc, &err, EO_EINVAL, "nosuch");
    rc = eo_orm_cursor_open(&cur, env, m, NULL, NULL, -1, -5, &err);
    assert_eo_error(rc, &err, EO_EINVAL, "must not be negative");
    assert_int_equal(in_use(env), 0);
    assert_eo_ok(eo_orm_cursor_open(&cur, env, m, NULL, NULL, -1, 0, &err), &err);
    rc = eo_orm_cursor_next(cur, 0, &ids, &err);
    assert_eo_error(rc, &err, EO_EINVAL, "n must be at least 1");
    rc = eo_orm_cursor_next(NULL, 10, &ids, &err);
    assert_int_equal(rc, EO_EINVAL);
    assert_eo_ok(eo_orm_cursor_next(cur, 10, &ids, &err), &err);
    assert_int_equal(ids.n, 0);
    assert_true(eo_orm_cursor_done(cur));
    eo_orm_cursor_close(cur);
    eo_orm_cursor_close(NULL);
    assert_true(eo_orm_cursor_done(NULL));
    eo_env_free(env);
    eo_registry_free(reg);
    th_rmtree(dir);
}

int main(void)
{
    static const eo_allocator a = { t_malloc, t_realloc, t_free, NULL };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor__sqlite),
        cmocka_unit_test(test_cursor__sqlite_file),
        cmocka_unit_test(test_cursor__postgresql),
        cmocka_unit_test(test_cursor__postgresql_connection_lost),
        cmocka_unit_test(test_cursor__mongodb),
        cmocka_unit_test(test_cursor__unsupported_and_misuse),
    };
    eo_set_allocator(&a);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
