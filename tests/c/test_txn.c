/*
 * test_txn.c - transactions for C hosts (eo_engine_begin/commit/rollback)
 * on a SQLite temp file and on PostgreSQL, and concurrent serializable
 * transactions: two OS threads, each with its own engine, increment one
 * counter row; serialization failures (EO_EBUSY) are retried by
 * env:transaction's opts.retries and no increment is lost.
 *
 * PostgreSQL cases read EARNORM_TEST_PG_URL and fail when it is unset.
 */
#include <pthread.h>
#include <sys/stat.h>

#include "helpers.h"

static const char *const MODELS =
    "local orm = require \"earnorm\"\n"
    "local f = orm.fields\n"
    "orm.model(\"txn.counter\", { name = f.Char{}, value = f.Integer{ default = 0 } })\n"
    "local I = orm.model(\"txn.item\", {\n"
    "  name = f.Char{ required = true },\n"
    "  qty  = f.Integer{},\n"
    "})\n"
    "I:constrains({ \"qty\" }, function(recs)\n"
    "  for r in recs:each() do\n"
    "    if r.qty and r.qty < 0 then error(orm.ValidationError{ \"qty must not be negative\", field = \"qty\" }) end\n"
    "  end\n"
    "end)\n"
    "return I\n";

typedef struct fx {
    char dir[512];
    char models[700];
    char url[800];
    int pg;
    eo_engine *eng;    /* opened, models loaded, migrated, tables empty */
    eo_engine *other;  /* a second engine (its own connection), or NULL */
} fx;

static eo_engine *open_engine(fx *f)
{
    eo_engine *eng = NULL;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_error err;
    cfg.database_url = f->url;
    assert_eo_ok(eo_engine_open(&eng, &cfg, &err), &err);
    assert_eo_ok(eo_engine_load_models(eng, f->models, &err), &err);
    return eng;
}

static int setup_common(fx *f)
{
    char path[800];
    eo_error err;
    snprintf(f->models, sizeof f->models, "%s/models", f->dir);
    if (mkdir(f->models, 0700) != 0)
        return -1;
    th_write_file(path, sizeof path, f->models, "txn.lua", MODELS);
    if (f->pg) {
        th_pg_exec(f->url, "DROP TABLE IF EXISTS txn_item", NULL, 0);
        th_pg_exec(f->url, "DROP TABLE IF EXISTS txn_counter", NULL, 0);
    }
    f->eng = open_engine(f);
    assert_eo_ok(eo_engine_migrate(f->eng, &err), &err);
    return 0;
}

static int setup_sqlite(void **state)
{
    fx *f = calloc(1, sizeof *f);
    th_tmpdir(f->dir, sizeof f->dir);
    snprintf(f->url, sizeof f->url, "sqlite://%s/txn.db", f->dir);
    *state = f;
    return setup_common(f);
}

static int setup_pg(void **state)
{
    const char *url = th_pg_url(); /* fails (not skips) when unset */
    fx *f = calloc(1, sizeof *f);
    th_tmpdir(f->dir, sizeof f->dir);
    *state = f;
    snprintf(f->url, sizeof f->url, "%s", url);
    f->pg = 1;
    return setup_common(f);
}

static int teardown(void **state)
{
    fx *f = *state;
    eo_engine_close(f->other);
    eo_engine_close(f->eng);
    th_rmtree(f->dir);
    free(f);
    return 0;
}

static long long count_items(eo_engine *eng)
{
    long long n = -1;
    eo_error err;
    assert_eo_ok(eo_search_count_json(eng, "txn.item", "[]", &n, &err), &err);
    return n;
}

/* eval `code`, expect EO_OK, compare the JSON result. */
static void eval_is(eo_engine *eng, const char *code, const char *want)
{
    char *out = NULL;
    eo_error err;
    assert_eo_ok(eo_engine_eval(eng, code, &out, &err), &err);
    if (strcmp(out, want) != 0) {
        char got[512];
        snprintf(got, sizeof got, "%s", out);
        eo_free(out);
        fail_msg("%s\n  returned %s, expected %s", code, got, want);
    }
    eo_free(out);
}

/* ---- begin/commit/rollback from C ---------------------------------- */

static void test_txn__commit_and_rollback(void **state)
{
    fx *f = *state;
    eo_error err;
    char *ids = NULL;

    f->other = open_engine(f);
    assert_int_equal(count_items(f->eng), 0);

    assert_eo_ok(eo_engine_begin(f->eng, NULL, &err), &err);
    assert_eo_ok(eo_create_json(f->eng, "txn.item", "[{\"name\": \"a\"}, {\"name\": \"b\"}]", &ids, &err), &err);
    eo_free(ids);
    eval_is(f->eng, "return env:transaction_depth()", "1");
    assert_int_equal(count_items(f->eng), 2);
    assert_eo_ok(eo_engine_rollback(f->eng, &err), &err);
    eval_is(f->eng, "return env:transaction_depth()", "0");
    assert_int_equal(count_items(f->eng), 0);
    assert_int_equal(count_items(f->other), 0);

    assert_eo_ok(eo_engine_begin(f->eng, NULL, &err), &err);
    assert_eo_ok(eo_create_json(f->eng, "txn.item", "{\"name\": \"c\"}", &ids, &err), &err);
    eo_free(ids);
    if (f->pg) /* a reader on another connection does not see it yet (SQLite WAL: neither) */
        assert_int_equal(count_items(f->other), 0);
    assert_eo_ok(eo_engine_commit(f->eng, &err), &err);
    assert_int_equal(count_items(f->eng), 1);
    assert_int_equal(count_items(f->other), 1);
}

static void test_txn__nested_levels_are_savepoints(void **state)
{
    fx *f = *state;
    eo_error err;
    char *ids = NULL, *rows = NULL;

    assert_eo_ok(eo_engine_begin(f->eng, NULL, &err), &err);
    assert_eo_ok(eo_create_json(f->eng, "txn.item", "{\"name\": \"outer\"}", &ids, &err), &err);
    eo_free(ids);
    assert_eo_ok(eo_engine_begin(f->eng, NULL, &err), &err);
    eval_is(f->eng, "return env:transaction_depth()", "2");
    assert_eo_ok(eo_create_json(f->eng, "txn.item", "{\"name\": \"inner\"}", &ids, &err), &err);
    eo_free(ids);
    assert_eo_ok(eo_engine_begin(f->eng, NULL, &err), &err);
    assert_eo_ok(eo_create_json(f->eng, "txn.item", "{\"name\": \"innermost\"}", &ids, &err), &err);
    eo_free(ids);
    assert_eo_ok(eo_engine_commit(f->eng, &err), &err);   /* RELEASE level 3 */
    assert_eo_ok(eo_engine_rollback(f->eng, &err), &err); /* undo level 2 with level 3 in it */
    eval_is(f->eng, "return env:transaction_depth()", "1");
    assert_eo_ok(eo_engine_begin(f->eng, NULL, &err), &err);
    assert_eo_ok(eo_create_json(f->eng, "txn.item", "{\"name\": \"second\"}", &ids, &err), &err);
    eo_free(ids);
    assert_eo_ok(eo_engine_commit(f->eng, &err), &err);
    assert_eo_ok(eo_engine_commit(f->eng, &err), &err);
    assert_eo_ok(eo_search_read_json(f->eng, "txn.item", "[]", "{\"fields\": [\"name\"], \"order\": \"name\"}",
                                     &rows, &err), &err);
    eo_free(rows);
    eval_is(f->eng, "local t = {} for r in env['txn.item']:search({}, { order = 'name' }):each() do"
                    " t[#t + 1] = r.name end return table.concat(t, ',')",
            "\"outer,second\"");
}

static void test_txn__isolation_levels(void **state)
{
    fx *f = *state;
    static const char *const levels[] = { "read committed", "repeatable read", "serializable" };
    eo_error err;
    char *ids = NULL;
    size_t i;

    for (i = 0; i < 3; i++) {
        assert_eo_ok(eo_engine_begin(f->eng, levels[i], &err), &err);
        assert_eo_ok(eo_create_json(f->eng, "txn.item", "{\"name\": \"iso\"}", &ids, &err), &err);
        eo_free(ids);
        /* a level is for the outermost transaction only */
        assert_eo_error(eo_engine_begin(f->eng, levels[i], &err), &err, EO_ETXNSTATE, "outermost");
        eval_is(f->eng, "return env:transaction_depth()", "1");
        assert_eo_ok(eo_engine_commit(f->eng, &err), &err);
    }
    assert_int_equal(count_items(f->eng), 3);
    assert_eo_error(eo_engine_begin(f->eng, "snapshot", &err), &err, EO_EINVAL,
                    "unknown isolation level 'snapshot'");
    eval_is(f->eng, "return env:transaction_depth()", "0");
}

static void test_txn__misuse_is_reported(void **state)
{
    fx *f = *state;
    eo_error err;
    assert_eo_error(eo_engine_commit(f->eng, &err), &err, EO_ETXNSTATE, "commit outside a transaction");
    assert_eo_error(eo_engine_rollback(f->eng, &err), &err, EO_ETXNSTATE, "rollback outside a transaction");
}

static void test_txn__events_run_for_c_callers(void **state)
{
    fx *f = *state;
    eo_error err;
    char *ids = NULL;

    f->other = open_engine(f);
    eval_is(f->eng,
            "_G.log = {}\n"
            "env:on('before_commit', function() log[#log + 1] = 'before' end)\n"
            "env:on('after_commit', function(e)\n"
            "  log[#log + 1] = 'after:' .. e['txn.item']:search_count{}\n"
            "end)\n"
            "env:on('after_rollback', function() log[#log + 1] = 'rollback' end)\n"
            "return true",
            "true");
    assert_eo_ok(eo_engine_begin(f->eng, NULL, &err), &err);
    assert_eo_ok(eo_create_json(f->eng, "txn.item", "{\"name\": \"e\"}", &ids, &err), &err);
    eo_free(ids);
    /* a handler for this transaction only */
    eval_is(f->eng, "env:on_commit(function() log[#log + 1] = 'once' end) return true", "true");
    assert_eo_ok(eo_engine_commit(f->eng, &err), &err);
    assert_eo_ok(eo_engine_begin(f->eng, NULL, &err), &err);
    assert_eo_ok(eo_engine_rollback(f->eng, &err), &err);
    eval_is(f->eng, "return table.concat(log, ' ')", "\"before once after:1 rollback\"");

    /* an error in before_commit rolls back and reaches the C caller */
    eval_is(f->eng, "env:on('before_commit', function() if _G.refuse then error('refused by handler') end end)"
                    " return true", "true");
    eval_is(f->eng, "_G.refuse = true return true", "true");
    assert_eo_ok(eo_engine_begin(f->eng, NULL, &err), &err);
    assert_eo_ok(eo_create_json(f->eng, "txn.item", "{\"name\": \"refused\"}", &ids, &err), &err);
    eo_free(ids);
    assert_eo_error(eo_engine_commit(f->eng, &err), &err, EO_ERROR, "refused by handler");
    eval_is(f->eng, "return env:transaction_depth()", "0");
    assert_int_equal(count_items(f->eng), 1);
    assert_int_equal(count_items(f->other), 1);
    eval_is(f->eng, "_G.refuse = false return table.concat(log, ' ')",
            "\"before once after:1 rollback before rollback\"");
}

static void test_txn__validation_error_inside_rolls_back_only_what_the_caller_undoes(void **state)
{
    fx *f = *state;
    eo_error err;
    char *ids = NULL;
    assert_eo_ok(eo_engine_begin(f->eng, NULL, &err), &err);
    assert_eo_ok(eo_create_json(f->eng, "txn.item", "{\"name\": \"ok\", \"qty\": 1}", &ids, &err), &err);
    eo_free(ids);
    /* the failed create undoes itself (its savepoint); the transaction goes on */
    assert_eo_error(eo_create_json(f->eng, "txn.item", "[{\"name\": \"x\", \"qty\": 2}, {\"name\": \"y\", \"qty\": -1}]",
                                   &ids, &err), &err, EO_EVALIDATE, "qty must not be negative");
    eval_is(f->eng, "return env:transaction_depth()", "1");
    assert_int_equal(count_items(f->eng), 1);
    assert_eo_ok(eo_engine_rollback(f->eng, &err), &err);
    assert_int_equal(count_items(f->eng), 0);
}

static void test_txn__closing_an_engine_rolls_back(void **state)
{
    fx *f = *state;
    eo_error err;
    char *ids = NULL;
    eo_engine *e = open_engine(f);
    assert_eo_ok(eo_engine_begin(e, NULL, &err), &err);
    assert_eo_ok(eo_create_json(e, "txn.item", "{\"name\": \"lost\"}", &ids, &err), &err);
    eo_free(ids);
    eo_engine_close(e);
    assert_int_equal(count_items(f->eng), 0);
    /* the database is not left locked either */
    assert_eo_ok(eo_create_json(f->eng, "txn.item", "{\"name\": \"kept\"}", &ids, &err), &err);
    eo_free(ids);
    assert_int_equal(count_items(f->eng), 1);
}

/* ---- concurrent serializable transactions (PostgreSQL) ------------- */

#define INCREMENTS 100

typedef struct incr {
    const fx *f;
    pthread_barrier_t *start;
    const char *code;
    long long attempts;
    char fail[600];
} incr;

static void *incr_worker(void *arg)
{
    incr *w = arg;
    eo_engine *eng = NULL;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_error err;
    char *out = NULL;
    cfg.database_url = w->f->url;
    if (eo_engine_open(&eng, &cfg, &err) != EO_OK ||
        eo_engine_load_models(eng, w->f->models, &err) != EO_OK) {
        snprintf(w->fail, sizeof w->fail, "open: %s", err.msg);
        eo_engine_close(eng);
        pthread_barrier_wait(w->start);
        return NULL;
    }
    /* both engines are ready: start together, so the transactions overlap */
    pthread_barrier_wait(w->start);
    if (eo_engine_eval(eng, w->code, &out, &err) != EO_OK)
        snprintf(w->fail, sizeof w->fail, "%s: %s", eo_code_name(err.code), err.msg);
    else if (sscanf(out, "%lld", &w->attempts) != 1)
        snprintf(w->fail, sizeof w->fail, "eval returned %s", out);
    eo_free(out);
    eo_engine_close(eng);
    return NULL;
}

/* Two workers add 1 to the same row INCREMENTS times each, in serializable
 * transactions with retries. `read` must set `c` (the record) and `v` (its
 * value); ID is the row. The first attempt of each worker pauses between
 * reading and writing, so the two first transactions surely overlap and
 * one of them fails to serialize. Returns the total number of attempts. */
static long long race(fx *f, const char *read)
{
    char code[2048], *out = NULL;
    long long id = 0, value = -1, total = 0;
    eo_error err;
    incr w[2];
    pthread_t th[2];
    pthread_barrier_t start;
    int k;

    assert_eo_ok(eo_create_json(f->eng, "txn.counter", "{\"name\": \"hits\", \"value\": 0}", &out, &err), &err);
    assert_int_equal(sscanf(out, " [ %lld ]", &id), 1);
    eo_free(out);
    snprintf(code, sizeof code,
             "local ID, attempts = %lld, 0\n"
             "local pause = require('earnorm.core').sleep\n"
             "for i = 1, %d do\n"
             "  env:transaction(function(env)\n"
             "    attempts = attempts + 1\n"
             "    %s\n"
             "    if attempts == 1 then pause(100) end\n"
             "    c:write{ value = v + 1 }\n"
             "  end, { isolation = 'serializable', retries = 10 })\n"
             "end\n"
             "return attempts",
             id, INCREMENTS, read);
    memset(w, 0, sizeof w);
    pthread_barrier_init(&start, NULL, 2);
    for (k = 0; k < 2; k++) {
        w[k].f = f;
        w[k].start = &start;
        w[k].code = code;
        assert_int_equal(pthread_create(&th[k], NULL, incr_worker, &w[k]), 0);
    }
    for (k = 0; k < 2; k++)
        pthread_join(th[k], NULL);
    pthread_barrier_destroy(&start);
    for (k = 0; k < 2; k++) {
        if (w[k].fail[0])
            fail_msg("worker %d: %s", k, w[k].fail);
        assert_true(w[k].attempts >= INCREMENTS);
        total += w[k].attempts;
    }
    snprintf(code, sizeof code, "return env['txn.counter']:search_read({ { 'id', '=', %lld } },"
                                " { fields = { 'value' } })[1].value", id);
    assert_eo_ok(eo_engine_eval(f->eng, code, &out, &err), &err);
    value = atoll(out);
    eo_free(out);
    print_message("# %d + %d increments: %lld attempts, final value %lld\n", INCREMENTS, INCREMENTS,
                  total, value);
    /* no increment was lost */
    assert_int_equal(value, 2 * INCREMENTS);
    return total;
}

/* The way a model author writes it: read the field, write it back. */
static void test_txn__serializable_increments_are_retried_not_lost(void **state)
{
    fx *f = *state;
    long long attempts = race(f, "local c = env['txn.counter']:browse(ID); local v = c.value");
    /* the two workers collided at least once and retried */
    assert_true(attempts > 2 * INCREMENTS);
}

/* The same with the record store emptied first, so every read goes to the
 * database: isolates the retry machinery from the store. */
static void test_txn__serializable_increments_with_fresh_reads(void **state)
{
    fx *f = *state;
    long long attempts = race(f, "env:invalidate(); local c = env['txn.counter']:browse(ID); local v = c.value");
    assert_true(attempts > 2 * INCREMENTS);
}

/* A value another connection committed is seen by the next transaction. */
static void test_txn__a_new_transaction_sees_what_others_committed(void **state)
{
    fx *f = *state;
    eo_error err;
    char *out = NULL;
    long long id = 0;

    f->other = open_engine(f);
    assert_eo_ok(eo_create_json(f->eng, "txn.counter", "{\"name\": \"n\", \"value\": 1}", &out, &err), &err);
    assert_int_equal(sscanf(out, " [ %lld ]", &id), 1);
    eo_free(out);
    {
        char code[256];
        snprintf(code, sizeof code, "return env['txn.counter']:browse(%lld).value", id);
        eval_is(f->eng, code, "1"); /* now in eng's record store */
        snprintf(code, sizeof code, "env['txn.counter']:browse(%lld):write{ value = 7 } return true", id);
        eval_is(f->other, code, "true");
        snprintf(code, sizeof code,
                 "return env:transaction(function(e) return e['txn.counter']:browse(%lld).value end)", id);
        eval_is(f->eng, code, "7");
    }
}

/* each case once per backend, named after it */
#define S(fn) { #fn "_sqlite", fn, setup_sqlite, teardown, NULL }
#define P(fn) { #fn "_postgresql", fn, setup_pg, teardown, NULL }

int main(void)
{
    const struct CMUnitTest tests[] = {
        S(test_txn__commit_and_rollback),
        P(test_txn__commit_and_rollback),
        S(test_txn__nested_levels_are_savepoints),
        P(test_txn__nested_levels_are_savepoints),
        S(test_txn__isolation_levels),
        P(test_txn__isolation_levels),
        S(test_txn__misuse_is_reported),
        P(test_txn__misuse_is_reported),
        S(test_txn__events_run_for_c_callers),
        P(test_txn__events_run_for_c_callers),
        S(test_txn__validation_error_inside_rolls_back_only_what_the_caller_undoes),
        P(test_txn__validation_error_inside_rolls_back_only_what_the_caller_undoes),
        S(test_txn__closing_an_engine_rolls_back),
        P(test_txn__closing_an_engine_rolls_back),
        S(test_txn__a_new_transaction_sees_what_others_committed),
        P(test_txn__a_new_transaction_sees_what_others_committed),
        P(test_txn__serializable_increments_are_retried_not_lost),
        P(test_txn__serializable_increments_with_fresh_reads),
    };
    return cmocka_run_group_tests_name("txn", tests, NULL, NULL);
}
