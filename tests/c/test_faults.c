/*
 * test_faults.c - faults from outside: the PostgreSQL server stopped in
 * the middle of a run and started again (scripts/services.sh stop-one /
 * start-one), and the earnorm interpreter killed with SIGKILL during a bulk
 * create into a SQLite file.
 *
 * Needs EARNORM_TEST_PG_URL, EARNORM_RUN_DIR (the services' run directory),
 * EARNORM_SOURCE_DIR (the repository, for scripts/services.sh) and
 * EARNORM_BIN (the interpreter); tests/CMakeLists.txt sets the last two and
 * takes the postgresql resource lock, since stopping the server would break
 * any other PostgreSQL test running beside this one. The server is always
 * left running (see teardown).
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static const char *need_env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        fail_msg("%s is not set (run through ctest after scripts/services.sh start, or make test)", name);
    return v;
}

static int pg_up(void)
{
    const char *url = getenv("EARNORM_TEST_PG_URL");
    return url && PQping(url) == PQPING_OK;
}

/* services.sh start-one/stop-one pg; its exit status. */
static int services(const char *what)
{
    const char *src = need_env("EARNORM_SOURCE_DIR");
    need_env("EARNORM_RUN_DIR");
    return th_system("cd '%s' && scripts/services.sh %s pg >/dev/null 2>&1", src, what);
}

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
    /* whatever happened, leave the server running for the next test */
    if (getenv("EARNORM_TEST_PG_URL") && !pg_up()) {
        services("start-one");
        if (!pg_up())
            fprintf(stderr, "# teardown: PostgreSQL did not come back\n");
    }
    th_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- PostgreSQL stopped mid-run ------------------------------------ */

#define BATCH 20000

typedef struct batcher {
    eo_pool *pool;
    eo_registry *reg;
    const char *url;
    atomic_int started;     /* the first batch is on its way */
    int done;               /* batches committed */
    int rc;                 /* how the last one ended */
    eo_error err;
    char fail[700];
} batcher;

/* Create batches of BATCH records until one fails (the server went away). */
static void *batch_loop(void *arg)
{
    batcher *b = arg;
    eo_env *env = NULL;
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    const eo_model *m = eo_registry_find(b->reg, "fault.rec");
    eo_id *ids = malloc(BATCH * sizeof *ids);
    int i;
    cfg.database_url = b->url;
    cfg.pool = b->pool;
    if (ids == NULL || eo_env_open(&env, b->reg, &cfg, &b->err) != EO_OK) {
        snprintf(b->fail, sizeof b->fail, "open: %s", b->err.msg);
        atomic_store(&b->started, 1);
        free(ids);
        return NULL;
    }
    for (i = 0; i < 200; i++) {
        th_simple_src src = { m, "batch", (int64_t)i * BATCH };
        atomic_store(&b->started, 1);
        b->rc = eo_orm_create(env, m, BATCH, th_simple_row, &src, 0, ids, &b->err);
        if (b->rc != EO_OK)
            break;
        b->done++;
    }
    if (b->rc == EO_OK)
        snprintf(b->fail, sizeof b->fail, "200 batches and the server never went away");
    eo_env_free(env);
    free(ids);
    return NULL;
}

static int64_t count_all(eo_env *env, const eo_model *m, int *rc, eo_error *err)
{
    int64_t n = -1;
    *rc = eo_orm_search_count(env, m, NULL, &n, err);
    return n;
}

static void test_faults__postgresql_stops_and_comes_back(void **state)
{
    const char *url = th_pg_url();
    eo_registry *reg = th_registry_simple("fault.rec");
    const eo_model *m = eo_registry_find(reg, "fault.rec");
    eo_pool_config pc = EO_POOL_CONFIG_INIT;
    eo_pool *pool = NULL;
    eo_env *env = NULL;
    eo_env_config ec = EO_ENV_CONFIG_INIT;
    eo_error err;
    eo_pool_stats s;
    batcher b;
    pthread_t th;
    int64_t before, n;
    double t0, ms;
    int rc, k;
    eo_id ids[10];
    (void)state;

    need_env("EARNORM_RUN_DIR");
    need_env("EARNORM_SOURCE_DIR");
    th_pg_exec(url, "DROP TABLE IF EXISTS fault_rec", NULL, 0);
    pc.max_size = 3;
    pc.connect_retries = 2;
    pc.backoff_ms = 20;
    pc.acquire_timeout_ms = 3000;
    assert_eo_ok(eo_pool_new(&pool, url, &pc, &err), &err);
    ec.database_url = url;
    ec.pool = pool;
    assert_eo_ok(eo_env_open(&env, reg, &ec, &err), &err);
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    {
        th_simple_src src = { m, "batch", 1000000 };
        assert_eo_ok(eo_orm_create(env, m, 10, th_simple_row, &src, 0, ids, &err), &err);
    }
    before = count_all(env, m, &rc, &err);
    assert_eo_ok(rc, &err);
    assert_int_equal(before, 10);

    /* batches keep going in another thread while the server stops */
    memset(&b, 0, sizeof b);
    b.pool = pool;
    b.reg = reg;
    b.url = url;
    assert_int_equal(pthread_create(&th, NULL, batch_loop, &b), 0);
    while (!atomic_load(&b.started))
        th_sleep_ms(1);
    th_sleep_ms(30);
    t0 = th_now_ms();
    assert_int_equal(services("stop-one"), 0);
    print_message("# stop-one pg took %.0f ms\n", th_now_ms() - t0);
    pthread_join(th, NULL);
    if (b.fail[0])
        fail_msg("batch thread: %s", b.fail);
    /* the batch in flight failed as a lost connection, not as anything else */
    assert_eo_error(b.rc, &b.err, EO_ECONN, "postgresql");
    assert_false(pg_up());

    /* during the outage: errors, quickly, and no crash */
    t0 = th_now_ms();
    n = count_all(env, m, &rc, &err);
    assert_eo_error(rc, &err, EO_ECONN, "postgresql");
    {
        th_simple_src src = { m, "batch", 2000000 };
        assert_eo_error(eo_orm_create(env, m, 10, th_simple_row, &src, 0, ids, &err), &err, EO_ECONN,
                        "postgresql");
    }
    assert_eo_error(eo_env_ping(env, NULL, &err), &err, EO_ECONN, "postgresql");
    assert_eo_error(eo_env_begin(env, EO_ISO_DEFAULT, &err), &err, EO_ECONN, "postgresql");
    assert_int_equal(eo_env_txn_depth(env), 0);
    ms = th_now_ms() - t0;
    if (ms > 5000)
        fail_msg("four operations during the outage took %.0f ms", ms);
    eo_pool_get_stats(pool, &s);
    assert_int_equal(s.in_use, 0);
    assert_true(s.errors > 0);

    /* back up: the same env and pool work again */
    t0 = th_now_ms();
    assert_int_equal(services("start-one"), 0);
    print_message("# start-one pg took %.0f ms\n", th_now_ms() - t0);
    n = count_all(env, m, &rc, &err);
    assert_eo_ok(rc, &err);
    /* the batch in flight is all there or not at all */
    if (n != before + (int64_t)b.done * BATCH && n != before + (int64_t)(b.done + 1) * BATCH)
        fail_msg("%lld records after %d whole batches of %d on top of %lld: a batch was half written",
                 (long long)n, b.done, BATCH, (long long)before);
    print_message("# %d batches committed before the stop; the one in flight %s\n", b.done,
                  n == before + (int64_t)b.done * BATCH ? "rolled back" : "committed");
    {
        th_simple_src src = { m, "batch", 3000000 };
        assert_eo_ok(eo_orm_create(env, m, 10, th_simple_row, &src, 0, ids, &err), &err);
    }
    assert_int_equal(count_all(env, m, &rc, &err), n + 10);
    assert_eo_ok(eo_env_ping(env, NULL, &err), &err);
    for (k = 0; k < 3; k++) { /* a transaction too */
        assert_eo_ok(eo_env_begin(env, EO_ISO_SERIALIZABLE, &err), &err);
        assert_eo_ok(eo_env_commit(env, &err), &err);
    }
    eo_pool_get_stats(pool, &s);
    /* the dead connections were thrown away and replaced */
    assert_true(s.reconnects > 0);
    assert_true(s.opened > s.closed);
    assert_int_equal(s.in_use, 0);
    print_message("# pool: opened %llu, closed %llu, reconnects %llu, errors %llu\n",
                  (unsigned long long)s.opened, (unsigned long long)s.closed,
                  (unsigned long long)s.reconnects, (unsigned long long)s.errors);
    eo_env_free(env);
    eo_pool_unref(pool);
    eo_registry_free(reg);
}

/* ---- SIGKILL during a bulk create on SQLite ------------------------ */

#define KILL_ROWS 200000

static const char *const BULK_SCRIPT =
    "local orm = require \"earnorm\"\n"
    "local f = orm.fields\n"
    "orm.model(\"kill.rec\", { name = f.Char{}, n = f.Integer{} })\n"
    "local env = orm.connect(arg[1])\n"
    "env:migrate()\n"
    "local rows = {}\n"
    "for i = 1, tonumber(arg[2]) do rows[i] = { name = \"r\" .. i, n = i } end\n"
    "io.write(\"ready\\n\") io.flush()\n"
    "env[\"kill.rec\"]:create(rows)\n"
    "io.write(\"done\\n\") io.flush()\n";

typedef struct run {
    int killed;        /* SIGKILL ended it (1), or it exited on its own (0) */
    int status;
    double create_ms;  /* from "ready" to the end */
    char out[256];
} run;

/* Run the bulk script on `db`; kill -9 it `delay_ms` after "ready"
 * (delay_ms < 0: let it finish). */
static void run_bulk(run *r, const char *script, const char *db, int delay_ms)
{
    const char *bin = need_env("EARNORM_BIN");
    char url[700], rows[32];
    int fd[2], st;
    size_t len = 0;
    ssize_t got;
    pid_t pid;
    double t0 = 0;

    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "sqlite://%s", db);
    snprintf(rows, sizeof rows, "%d", KILL_ROWS);
    assert_int_equal(pipe(fd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl(bin, bin, script, url, rows, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    /* wait for "ready": the table exists and the rows are built */
    while (len < sizeof r->out - 1 && strstr(r->out, "ready\n") == NULL) {
        got = read(fd[0], r->out + len, sizeof r->out - 1 - len);
        if (got <= 0)
            break;
        len += (size_t)got;
        r->out[len] = '\0';
    }
    if (strstr(r->out, "ready\n") == NULL) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        close(fd[0]);
        fail_msg("%s %s never said ready: \"%s\" (status %d)", bin, script, r->out, st);
    }
    t0 = th_now_ms();
    if (delay_ms >= 0) {
        th_sleep_ms((unsigned)delay_ms);
        kill(pid, SIGKILL);
    }
    while ((got = read(fd[0], r->out + len, sizeof r->out - 1 - len)) > 0) {
        len += (size_t)got;
        r->out[len] = '\0';
    }
    close(fd[0]);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    r->create_ms = th_now_ms() - t0;
    r->status = st;
    r->killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
    if (r->killed) {
        /* libmongoc's automatic init made /dev/shm/mongoc-<pid> at load; a
         * killed process leaves it, and the next process given that pid
         * warns about it on stderr ("Falling back to malloc for counters") */
        char shm[64];
        snprintf(shm, sizeof shm, "/dev/shm/mongoc-%ld", (long)pid);
        unlink(shm);
    }
    if (!r->killed && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        fail_msg("the bulk create exited with status %d: %s", st, r->out);
}

/* Open the database as the next program would; count and check it. */
static long long inspect(const char *db, long long *sum)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;
    char check[256] = "";
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(check, sizeof check, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (strcmp(check, "ok") != 0) {
        sqlite3_close(h);
        fail_msg("%s: integrity_check says \"%s\"", db, check);
    }
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*), coalesce(sum(n), 0) FROM kill_rec", -1, &st,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    *sum = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static void remove_db(const char *db)
{
    char p[800];
    unlink(db);
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
}

static void test_faults__sigkill_during_a_bulk_create_sqlite(void **state)
{
    fx *f = *state;
    /* where in the create to kill, as fractions of its duration */
    static const double fractions[] = { 0.0, 0.1, 0.25, 0.4, 0.55, 0.7, 0.85 };
    const size_t nfrac = sizeof fractions / sizeof *fractions;
    const long long full_sum = (long long)KILL_ROWS * (KILL_ROWS + 1) / 2;
    char script[700], db[700];
    long long n, sum;
    size_t i, runs = 0;
    int interrupted = 0, zero = 0;
    double est;
    run r;

    th_write_file(script, sizeof script, f->dir, "bulk.lua", BULK_SCRIPT);
    snprintf(db, sizeof db, "%s/bulk.db", f->dir);

    /* a run left alone: how long the create takes, and that it works */
    run_bulk(&r, script, db, -1);
    assert_false(r.killed);
    assert_non_null(strstr(r.out, "done"));
    n = inspect(db, &sum);
    assert_int_equal(n, KILL_ROWS);
    assert_int_equal(sum, full_sum);
    est = r.create_ms;
    print_message("# %d records in one create: %.0f ms\n", KILL_ROWS, r.create_ms);

    /* kill at each fraction of the shortest create seen so far; a run that
     * finished before the kill shortens the estimate and is done again */
    for (i = 0; i < nfrac && runs < 2 * nfrac; runs++) {
        int delay = (int)(fractions[i] * est);
        run k;
        remove_db(db);
        run_bulk(&k, script, db, delay);
        n = inspect(db, &sum);
        print_message("# kill -9 after %d ms: %s, %lld records\n", delay,
                      strstr(k.out, "done") ? "had finished" : "killed in the create", n);
        if (n == 0) {
            zero++;
        } else if (n == KILL_ROWS) {
            assert_int_equal(sum, full_sum);
        } else {
            fail_msg("kill -9 %d ms into the create left %lld of %d records", delay, n, KILL_ROWS);
        }
        if (strstr(k.out, "done") != NULL) {
            /* once it said "done" the records are there, killed or not */
            assert_int_equal(n, KILL_ROWS);
            if (k.create_ms < est)
                est = k.create_ms;
            est *= 0.8;
            continue;
        }
        if (!k.killed)
            fail_msg("exited without saying done: \"%s\"", k.out);
        interrupted++;
        i++;
    }
    /* every fraction got a kill that landed inside the create */
    assert_int_equal(interrupted, (int)nfrac);
    assert_true(zero >= 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_faults__postgresql_stops_and_comes_back),
        T(test_faults__sigkill_during_a_bulk_create_sqlite),
    };
    return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
