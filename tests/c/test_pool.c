/*
 * test_pool.c - connection pools (pool.h): one pool shared by many threads
 * (environments and engines) on a SQLite temp file and on PostgreSQL,
 * waiting and timing out on acquire, idle timeout, max lifetime,
 * validation after idle (a backend terminated behind the pool's back),
 * broken connections, connect retry with backoff, transactions never lent
 * out, URL options, sqlite::memory: and the statistics.
 *
 * PostgreSQL cases read EARNORM_TEST_PG_URL and fail when it is unset.
 * Worker threads never call cmocka: they record their first failure, and
 * the main thread asserts after joining them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define THREADS 8
#define OPS 5000      /* per thread: half creates, half counts */
#define POOL_MAX 4

static const char *const ITEM_MODEL =
    "local orm = require \"earnorm\"\n"
    "local f = orm.fields\n"
    "return orm.model(\"pool.item\", {\n"
    "  tag = f.Char{ size = 32, index = true },\n"
    "  seq = f.Integer{},\n"
    "  val = f.Integer{},\n"
    "})\n";

typedef struct fx {
    char dir[512];
    char url[700];     /* sqlite://<dir>/pool.db */
    char models[700];  /* <dir>/models */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char path[800];
    th_tmpdir(f->dir, sizeof f->dir);
    snprintf(f->url, sizeof f->url, "sqlite://%s/pool.db", f->dir);
    snprintf(f->models, sizeof f->models, "%s/models", f->dir);
    if (mkdir(f->models, 0700) != 0)
        return -1;
    th_write_file(path, sizeof path, f->models, "pool_item.lua", ITEM_MODEL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    th_rmtree(f->dir);
    free(f);
    return 0;
}

static eo_pool_config quick_config(void)
{
    eo_pool_config c = EO_POOL_CONFIG_INIT;
    return c;
}

static eo_pool *new_pool(const char *url, const eo_pool_config *cfg)
{
    eo_pool *p = NULL;
    eo_error err;
    assert_eo_ok(eo_pool_new(&p, url, cfg, &err), &err);
    assert_non_null(p);
    return p;
}

static eo_pool_stats stats_of(eo_pool *p)
{
    eo_pool_stats s;
    memset(&s, 0xAB, sizeof s); /* every field must be written */
    eo_pool_get_stats(p, &s);
    return s;
}

/* ---- the stress run: 8 threads x 5000 operations, one pool of 4 ----- */

typedef struct worker {
    int k;
    int use_engine;
    eo_pool *pool;
    eo_registry *reg;       /* env variant: shared, read-only */
    const char *url;
    const char *models;     /* engine variant: the model directory */
    long created;
    long long ids[OPS / 2]; /* every id create returned */
    long long sum_seq, sum_val;
    long read_count;        /* at the end, read back from the database */
    long long read_seq, read_val;
    char fail[700];         /* first failure, "" when none */
} worker;

static void wfail(worker *w, const char *fmt, ...)
{
    va_list ap;
    if (w->fail[0])
        return;
    va_start(ap, fmt);
    vsnprintf(w->fail, sizeof w->fail, fmt, ap);
    va_end(ap);
}

typedef struct one_row {
    const eo_model *m;
    const char *tag;
    int64_t seq, val;
} one_row;

static int one_row_cb(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    one_row *r = payload;
    (void)i;
    if (cap < 3) /* (a worker thread: no cmocka asserts here) */
        return eo_error_set(err, EO_EINVAL, "test: the model has fewer than 3 fields");
    out[0].field = eo_model_field(r->m, "tag", 3);
    out[0].value = eo_cstr(r->tag);
    out[1].field = eo_model_field(r->m, "seq", 3);
    out[1].value = eo_int(r->seq);
    out[2].field = eo_model_field(r->m, "val", 3);
    out[2].value = eo_int(r->val);
    *n = 3;
    return EO_OK;
}

typedef struct sums {
    long n;
    long long seq, val;
    int bad;
} sums;

static int sum_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    sums *s = payload;
    (void)err;
    if (ncols != 2 || row[0].type != EO_VINT || row[1].type != EO_VINT) {
        s->bad = 1;
        return EO_OK;
    }
    s->n++;
    s->seq += row[0].u.i;
    s->val += row[1].u.i;
    return EO_OK;
}

static void *env_worker(void *arg)
{
    worker *w = arg;
    eo_env *env = NULL;
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_domain *d = NULL;
    eo_error err;
    const eo_model *m = eo_registry_find(w->reg, "pool.rec");
    const eo_field *fields[2];
    char tag[16], dj[64];
    int64_t n;
    sums s = { 0, 0, 0, 0 };
    int i;

    snprintf(tag, sizeof tag, "t%d", w->k);
    snprintf(dj, sizeof dj, "[[\"tag\", \"=\", \"%s\"]]", tag);
    cfg.database_url = w->url;
    cfg.pool = w->pool;
    if (eo_env_open(&env, w->reg, &cfg, &err) != EO_OK) {
        wfail(w, "eo_env_open: %s", err.msg);
        return NULL;
    }
    if (eo_domain_from_json(&d, dj, strlen(dj), &err) != EO_OK) {
        wfail(w, "domain: %s", err.msg);
        goto done;
    }
    for (i = 0; i < OPS; i++) {
        if (i % 2 == 0) {
            one_row r = { m, tag, i, (int64_t)w->k * 1000000 + i };
            eo_id id;
            if (eo_orm_create(env, m, 1, one_row_cb, &r, 0, &id, &err) != EO_OK) {
                wfail(w, "op %d: create: %s", i, err.msg);
                goto done;
            }
            if (id.num <= 0) {
                wfail(w, "op %d: id %lld", i, (long long)id.num);
                goto done;
            }
            w->ids[w->created] = id.num;
            w->created++;
            w->sum_seq += r.seq;
            w->sum_val += r.val;
        } else {
            if (eo_orm_search_count(env, m, d, &n, &err) != EO_OK) {
                wfail(w, "op %d: count: %s", i, err.msg);
                goto done;
            }
            if (n != w->created) {
                wfail(w, "op %d: %s has %lld records, created %ld", i, tag, (long long)n, w->created);
                goto done;
            }
        }
    }
    fields[0] = eo_model_field(m, "seq", 3);
    fields[1] = eo_model_field(m, "val", 3);
    if (eo_orm_search_rows(env, m, d, fields, 2, "id", -1, 0, sum_row, &s, &err) != EO_OK) {
        wfail(w, "final read: %s", err.msg);
        goto done;
    }
    if (s.bad)
        wfail(w, "final read: a row that is not two integers");
    w->read_count = s.n;
    w->read_seq = s.seq;
    w->read_val = s.val;
done:
    eo_domain_free(d);
    eo_env_free(env);
    return NULL;
}

static void *engine_worker(void *arg)
{
    worker *w = arg;
    eo_engine *eng = NULL;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_error err;
    char tag[16], dom[64], vals[128], code[400];
    char *out = NULL;
    long long id, n;
    int i;

    snprintf(tag, sizeof tag, "e%d", w->k);
    snprintf(dom, sizeof dom, "[[\"tag\", \"=\", \"%s\"]]", tag);
    cfg.database_url = w->url;
    cfg.pool = w->pool;
    if (eo_engine_open(&eng, &cfg, &err) != EO_OK) {
        wfail(w, "eo_engine_open: %s", err.msg);
        return NULL;
    }
    if (eo_engine_load_models(eng, w->models, &err) != EO_OK) {
        wfail(w, "load_models: %s", err.msg);
        goto done;
    }
    for (i = 0; i < OPS; i++) {
        if (i % 2 == 0) {
            long long val = (long long)w->k * 1000000 + i;
            snprintf(vals, sizeof vals, "{\"tag\": \"%s\", \"seq\": %d, \"val\": %lld}", tag, i, val);
            if (eo_create_json(eng, "pool.item", vals, &out, &err) != EO_OK) {
                wfail(w, "op %d: create: %s", i, err.msg);
                goto done;
            }
            if (sscanf(out, " [ %lld ]", &id) != 1 || id <= 0) {
                wfail(w, "op %d: create returned %s", i, out);
                goto done;
            }
            eo_free(out);
            out = NULL;
            w->ids[w->created] = id;
            w->created++;
            w->sum_seq += i;
            w->sum_val += val;
        } else {
            if (eo_search_count_json(eng, "pool.item", dom, &n, &err) != EO_OK) {
                wfail(w, "op %d: count: %s", i, err.msg);
                goto done;
            }
            if (n != w->created) {
                wfail(w, "op %d: %s has %lld records, created %ld", i, tag, n, w->created);
                goto done;
            }
        }
    }
    snprintf(code, sizeof code,
             "local n, s, v = 0, 0, 0\n"
             "for _, r in ipairs(env['pool.item']:search_read({ { 'tag', '=', '%s' } },"
             " { fields = { 'seq', 'val' } })) do\n"
             "  n = n + 1; s = s + r.seq; v = v + r.val\n"
             "end\n"
             "return { n, s, v }",
             tag);
    if (eo_engine_eval(eng, code, &out, &err) != EO_OK) {
        wfail(w, "final read: %s", err.msg);
        goto done;
    }
    if (sscanf(out, " [ %ld , %lld , %lld ]", &w->read_count, &w->read_seq, &w->read_val) != 3)
        wfail(w, "final read returned %s", out);
done:
    eo_free(out);
    eo_engine_close(eng);
    return NULL;
}

typedef struct sampler {
    eo_pool *pool;
    atomic_int stop;
    size_t peak_size, peak_in_use;
} sampler;

static void *sample(void *arg)
{
    sampler *s = arg;
    while (!atomic_load(&s->stop)) {
        eo_pool_stats st;
        eo_pool_get_stats(s->pool, &st);
        if (st.size > s->peak_size)
            s->peak_size = st.size;
        if (st.in_use > s->peak_in_use)
            s->peak_in_use = st.in_use;
        th_sleep_ms(1);
    }
    return NULL;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Migrate with one env (or engine) on the pool, run the workers, check. */
static void stress(const char *url, const char *models, int use_engine)
{
    eo_pool_config pc = EO_POOL_CONFIG_INIT;
    eo_pool *pool;
    eo_registry *reg = th_registry_simple("pool.rec");
    worker w[THREADS];
    pthread_t th[THREADS], st;
    sampler smp;
    eo_pool_stats s;
    eo_error err;
    long long total;
    double t0 = th_now_ms();
    int k;

    pc.max_size = POOL_MAX;
    pc.acquire_timeout_ms = 20000; /* waits are expected; timeouts are failures */
    pool = new_pool(url, &pc);
    if (use_engine) {
        eo_engine *eng = NULL;
        eo_engine_config ec = EO_ENGINE_CONFIG_INIT;
        ec.database_url = url;
        ec.pool = pool;
        assert_eo_ok(eo_engine_open(&eng, &ec, &err), &err);
        assert_eo_ok(eo_engine_load_models(eng, models, &err), &err);
        assert_eo_ok(eo_engine_migrate(eng, &err), &err);
        eo_engine_close(eng);
    } else {
        eo_env *env = NULL;
        eo_env_config ec = EO_ENV_CONFIG_INIT;
        ec.database_url = url;
        ec.pool = pool;
        assert_eo_ok(eo_env_open(&env, reg, &ec, &err), &err);
        assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
        eo_env_free(env);
    }

    memset(&smp, 0, sizeof smp);
    smp.pool = pool;
    assert_int_equal(pthread_create(&st, NULL, sample, &smp), 0);
    memset(w, 0, sizeof w);
    for (k = 0; k < THREADS; k++) {
        w[k].k = k;
        w[k].use_engine = use_engine;
        w[k].pool = pool;
        w[k].reg = reg;
        w[k].url = url;
        w[k].models = models;
        assert_int_equal(pthread_create(&th[k], NULL, use_engine ? engine_worker : env_worker, &w[k]), 0);
    }
    for (k = 0; k < THREADS; k++)
        pthread_join(th[k], NULL);
    atomic_store(&smp.stop, 1);
    pthread_join(st, NULL);

    total = 0;
    for (k = 0; k < THREADS; k++) {
        if (w[k].fail[0])
            fail_msg("thread %d: %s", k, w[k].fail);
        assert_int_equal(w[k].created, OPS / 2);
        /* what each thread read back is exactly what it wrote */
        assert_int_equal(w[k].read_count, OPS / 2);
        assert_int_equal(w[k].read_seq, w[k].sum_seq);
        assert_int_equal(w[k].read_val, w[k].sum_val);
        assert_int_equal(w[k].sum_seq, (long long)(OPS / 2) * (OPS - 2) / 2);
        total += w[k].created;
    }
    assert_int_equal(total, THREADS * OPS / 2);
    /* no id was handed out twice, across all threads and connections */
    {
        long long *all = malloc((size_t)total * sizeof *all);
        long j = 0, q;
        assert_non_null(all);
        for (k = 0; k < THREADS; k++)
            for (q = 0; q < w[k].created; q++)
                all[j++] = w[k].ids[q];
        qsort(all, (size_t)total, sizeof *all, cmp_ll);
        for (q = 1; q < total; q++)
            if (all[q] == all[q - 1]) {
                long long dup = all[q];
                free(all);
                fail_msg("id %lld was returned by two creates", dup);
            }
        free(all);
    }

    /* and the whole table holds exactly that, nothing else */
    {
        eo_env *env = NULL;
        eo_env_config ec = EO_ENV_CONFIG_INIT;
        int64_t n = -1;
        ec.database_url = url;
        ec.pool = pool;
        if (use_engine) {
            eo_engine *eng = NULL;
            eo_engine_config gc = EO_ENGINE_CONFIG_INIT;
            long long cnt = -1;
            gc.database_url = url;
            gc.pool = pool;
            assert_eo_ok(eo_engine_open(&eng, &gc, &err), &err);
            assert_eo_ok(eo_engine_load_models(eng, models, &err), &err);
            assert_eo_ok(eo_search_count_json(eng, "pool.item", "[]", &cnt, &err), &err);
            eo_engine_close(eng);
            n = cnt;
        } else {
            assert_eo_ok(eo_env_open(&env, reg, &ec, &err), &err);
            assert_eo_ok(eo_orm_search_count(env, eo_registry_find(reg, "pool.rec"), NULL, &n, &err), &err);
            eo_env_free(env);
        }
        assert_int_equal(n, THREADS * OPS / 2);
    }

    s = stats_of(pool);
    print_message("# %s %s: %.0f ms, acquires %llu, waits %llu (%.1f ms waiting), peak in use %zu\n",
                  use_engine ? "engines" : "envs", eo_pool_adapter(pool)->name, th_now_ms() - t0,
                  (unsigned long long)s.acquires, (unsigned long long)s.waits,
                  (double)s.wait_ns / 1e6, smp.peak_in_use);
    assert_int_equal(s.max_size, POOL_MAX);
    assert_true(s.size <= POOL_MAX);
    assert_true(smp.peak_size <= POOL_MAX);
    assert_true(smp.peak_in_use <= POOL_MAX);
    assert_int_equal(s.in_use, 0);
    assert_int_equal(s.idle, s.size);
    assert_true(s.waits > 0);
    assert_true(s.wait_ns > 0);
    assert_int_equal(s.timeouts, 0);
    assert_int_equal(s.errors, 0);
    assert_int_equal(s.reconnects, 0);
    if (s.opened > POOL_MAX)
        fail_msg("opened %llu connections (closed %llu, size %zu) for a pool of %d",
                 (unsigned long long)s.opened, (unsigned long long)s.closed, s.size, POOL_MAX);
    assert_int_equal(s.opened - s.closed, s.size);
    /* every create and every count borrowed a connection */
    assert_true(s.acquires >= (uint64_t)THREADS * OPS);
    eo_pool_unref(pool);
    eo_registry_free(reg);
}

static void test_pool__stress_sqlite_envs(void **state)
{
    fx *f = *state;
    stress(f->url, f->models, 0);
}

static void test_pool__stress_sqlite_engines(void **state)
{
    fx *f = *state;
    stress(f->url, f->models, 1);
}

static void test_pool__stress_postgresql_envs(void **state)
{
    fx *f = *state;
    const char *url = th_pg_url();
    (void)f;
    th_pg_exec(url, "DROP TABLE IF EXISTS pool_rec", NULL, 0);
    stress(url, f->models, 0);
}

static void test_pool__stress_postgresql_engines(void **state)
{
    fx *f = *state;
    const char *url = th_pg_url();
    th_pg_exec(url, "DROP TABLE IF EXISTS pool_item", NULL, 0);
    stress(url, f->models, 1);
}

/* ---- waiting and timing out --------------------------------------- */

typedef struct waiter {
    eo_pool *pool;
    eo_conn *got;
    int rc;
    eo_error err;
    double ms;
    double t_got; /* th_now_ms() when the acquire returned */
    atomic_int done;
} waiter;

static void *wait_acquire(void *arg)
{
    waiter *w = arg;
    double t0 = th_now_ms();
    w->rc = eo_pool_acquire(w->pool, &w->got, &w->err);
    w->t_got = th_now_ms();
    w->ms = w->t_got - t0;
    atomic_store(&w->done, 1);
    return NULL;
}

static void test_pool__acquire_waits_for_a_release(void **state)
{
    fx *f = *state;
    eo_pool_config pc = quick_config();
    eo_pool *p;
    eo_conn *c[4];
    eo_error err;
    eo_pool_stats s;
    waiter w;
    pthread_t th;
    double t_release;
    int i;

    pc.max_size = 4;
    p = new_pool(f->url, &pc);
    for (i = 0; i < 4; i++)
        assert_eo_ok(eo_pool_acquire(p, &c[i], &err), &err);
    s = stats_of(p);
    assert_int_equal(s.size, 4);
    assert_int_equal(s.in_use, 4);
    assert_int_equal(s.waits, 0);

    memset(&w, 0, sizeof w);
    w.pool = p;
    assert_int_equal(pthread_create(&th, NULL, wait_acquire, &w), 0);
    th_sleep_ms(150);
    /* a 5th acquire waits: it neither failed nor opened a 5th connection */
    assert_int_equal(atomic_load(&w.done), 0);
    s = stats_of(p);
    assert_int_equal(s.size, 4);
    assert_int_equal(s.opened, 4);
    t_release = th_now_ms();
    eo_pool_release(p, c[2]);
    pthread_join(th, NULL);
    assert_eo_ok(w.rc, &w.err);
    /* it got the connection just released, after waiting for it (measured
     * against the release: a loaded machine may start the thread late) */
    assert_ptr_equal(w.got, c[2]);
    assert_true(w.t_got >= t_release);
    s = stats_of(p);
    assert_int_equal(s.waits, 1);
    /* the wait counted is part of the call that waited */
    assert_true(s.wait_ns > 0 && (double)s.wait_ns <= w.ms * 1e6 + 1e6);
    assert_int_equal(s.timeouts, 0);
    assert_int_equal(s.acquires, 5);
    assert_int_equal(s.size, 4);
    assert_int_equal(s.opened, 4);
    eo_pool_release(p, w.got);
    for (i = 0; i < 4; i++)
        if (i != 2)
            eo_pool_release(p, c[i]);
    s = stats_of(p);
    assert_int_equal(s.in_use, 0);
    assert_int_equal(s.idle, 4);
    eo_pool_unref(p);
}

static void test_pool__acquire_timeout(void **state)
{
    fx *f = *state;
    eo_pool_config pc = quick_config();
    eo_pool *p;
    eo_conn *a, *b, *c = NULL;
    eo_error err;
    eo_pool_stats s;
    double t0, ms;
    char want[800];

    pc.max_size = 2;
    pc.acquire_timeout_ms = 200;
    p = new_pool(f->url, &pc);
    assert_eo_ok(eo_pool_acquire(p, &a, &err), &err);
    assert_eo_ok(eo_pool_acquire(p, &b, &err), &err);
    t0 = th_now_ms();
    assert_eo_error(eo_pool_acquire(p, &c, &err), &err, EO_ETIMEOUT, "all 2 connections busy for 200 ms");
    ms = th_now_ms() - t0;
    assert_null(c);
    if (ms < 195 || ms > 700)
        fail_msg("acquire gave up after %.0f ms, expected about 200", ms);
    /* the message names the pool */
    snprintf(want, sizeof want, "pool for %s", f->url);
    if (strstr(err.msg, want) == NULL)
        fail_msg("message \"%s\" does not name the pool (%s)", err.msg, want);
    s = stats_of(p);
    assert_int_equal(s.timeouts, 1);
    assert_int_equal(s.waits, 1);
    assert_int_equal(s.acquires, 2);
    assert_int_equal(s.size, 2);
    assert_true(s.wait_ns >= 195 * 1000000ULL);

    /* once one is back, acquire succeeds at once */
    eo_pool_release(p, b);
    t0 = th_now_ms();
    assert_eo_ok(eo_pool_acquire(p, &c, &err), &err);
    assert_true(th_now_ms() - t0 < 100);
    assert_ptr_equal(c, b);
    s = stats_of(p);
    assert_int_equal(s.timeouts, 1);
    assert_int_equal(s.acquires, 3);
    eo_pool_release(p, a);
    eo_pool_release(p, c);
    eo_pool_unref(p);

    /* a zero timeout gives up at once */
    pc.max_size = 1;
    pc.acquire_timeout_ms = 0;
    p = new_pool(f->url, &pc);
    assert_eo_ok(eo_pool_acquire(p, &a, &err), &err);
    t0 = th_now_ms();
    assert_eo_error(eo_pool_acquire(p, &c, &err), &err, EO_ETIMEOUT, "all 1 connections busy for 0 ms");
    assert_true(th_now_ms() - t0 < 50);
    assert_int_equal(stats_of(p).timeouts, 1);
    eo_pool_release(p, a);
    eo_pool_unref(p);
}

/* The timeout message names the pool with the password masked. */
static void test_pool__timeout_message_masks_the_password(void **state)
{
    const char *base = th_pg_url();
    const char *at = strchr(base, '@'), *scheme = strstr(base, "://");
    char url[800];
    eo_pool_config pc = quick_config();
    eo_pool *p;
    eo_conn *a, *c = NULL;
    eo_error err;
    (void)state;
    assert_non_null(at);
    assert_non_null(scheme);
    /* postgresql://postgres@host -> postgresql://postgres:s3cret@host (trust auth ignores it) */
    snprintf(url, sizeof url, "%.*s:s3cret%s", (int)(at - base), base, at);
    pc.max_size = 1;
    pc.acquire_timeout_ms = 50;
    p = new_pool(url, &pc);
    assert_null(strstr(eo_pool_url(p), "s3cret"));
    assert_non_null(strstr(eo_pool_url(p), "postgres:***@"));
    assert_eo_ok(eo_pool_acquire(p, &a, &err), &err);
    assert_eo_error(eo_pool_acquire(p, &c, &err), &err, EO_ETIMEOUT, "postgres:***@");
    assert_null(strstr(err.msg, "s3cret"));
    eo_pool_release(p, a);
    eo_pool_unref(p);
}

/* ---- idle timeout, max lifetime ------------------------------------ */

static void test_pool__idle_timeout_closes_idle_connections_above_min(void **state)
{
    fx *f = *state;
    eo_pool_config pc = quick_config();
    eo_pool *p;
    eo_conn *c[4];
    eo_error err;
    eo_pool_stats s;
    int i;

    pc.min_size = 1;
    pc.max_size = 4;
    pc.idle_timeout_ms = 100;
    p = new_pool(f->url, &pc);
    s = stats_of(p);
    assert_int_equal(s.size, 1); /* min_size is opened at once */
    assert_int_equal(s.opened, 1);
    for (i = 0; i < 4; i++)
        assert_eo_ok(eo_pool_acquire(p, &c[i], &err), &err);
    for (i = 0; i < 4; i++)
        eo_pool_release(p, c[i]);
    s = stats_of(p);
    assert_int_equal(s.size, 4);
    assert_int_equal(s.idle, 4);
    assert_int_equal(s.closed, 0);

    /* not idle long enough: nothing closes */
    th_sleep_ms(20);
    assert_eo_ok(eo_pool_acquire(p, &c[0], &err), &err);
    eo_pool_release(p, c[0]);
    s = stats_of(p);
    assert_int_equal(s.size, 4);
    assert_int_equal(s.closed, 0);

    /* past the idle timeout: the next acquire closes all but min_size */
    th_sleep_ms(180);
    assert_eo_ok(eo_pool_acquire(p, &c[0], &err), &err);
    s = stats_of(p);
    assert_int_equal(s.size, 1);
    assert_int_equal(s.in_use, 1);
    assert_int_equal(s.idle, 0);
    assert_int_equal(s.closed, 3);
    assert_int_equal(s.opened, 4);
    assert_int_equal(s.reconnects, 0);
    assert_int_equal(s.errors, 0);
    assert_eo_ok(c[0]->adapter->ping(c[0], &err), &err);
    eo_pool_release(p, c[0]);

    /* min_size stays open however long it idles */
    th_sleep_ms(150);
    assert_eo_ok(eo_pool_acquire(p, &c[0], &err), &err);
    eo_pool_release(p, c[0]);
    s = stats_of(p);
    assert_int_equal(s.size, 1);
    assert_int_equal(s.closed, 3);
    eo_pool_unref(p);
}

static void test_pool__idle_timeout_zero_never_closes(void **state)
{
    fx *f = *state;
    eo_pool_config pc = quick_config();
    eo_pool *p;
    eo_conn *a, *b;
    eo_error err;
    pc.max_size = 2;
    pc.idle_timeout_ms = 0;
    pc.validate_idle_ms = 0;
    p = new_pool(f->url, &pc);
    assert_eo_ok(eo_pool_acquire(p, &a, &err), &err);
    assert_eo_ok(eo_pool_acquire(p, &b, &err), &err);
    eo_pool_release(p, a);
    eo_pool_release(p, b);
    th_sleep_ms(60);
    assert_eo_ok(eo_pool_acquire(p, &a, &err), &err);
    eo_pool_release(p, a);
    assert_int_equal(stats_of(p).size, 2);
    assert_int_equal(stats_of(p).closed, 0);
    eo_pool_unref(p);
}

static void test_pool__max_lifetime_replaces_old_connections(void **state)
{
    fx *f = *state;
    eo_pool_config pc = quick_config();
    eo_pool *p;
    eo_conn *a, *b;
    eo_error err;
    eo_pool_stats s;

    pc.max_size = 2;
    pc.max_lifetime_ms = 150;
    pc.idle_timeout_ms = 0;
    p = new_pool(f->url, &pc);
    assert_eo_ok(eo_pool_acquire(p, &a, &err), &err);
    eo_pool_release(p, a);
    /* young: lent again */
    assert_eo_ok(eo_pool_acquire(p, &b, &err), &err);
    assert_ptr_equal(a, b);
    eo_pool_release(p, b);
    s = stats_of(p);
    assert_int_equal(s.opened, 1);

    /* past its lifetime while idle: the acquire replaces it */
    th_sleep_ms(200);
    assert_eo_ok(eo_pool_acquire(p, &a, &err), &err);
    s = stats_of(p);
    assert_int_equal(s.opened, 2);
    assert_int_equal(s.closed, 1);
    assert_int_equal(s.reconnects, 1);
    assert_int_equal(s.errors, 0);
    assert_int_equal(s.size, 1);
    assert_eo_ok(a->adapter->ping(a, &err), &err);

    /* past its lifetime while lent: closed when it comes back */
    th_sleep_ms(200);
    eo_pool_release(p, a);
    s = stats_of(p);
    assert_int_equal(s.size, 0);
    assert_int_equal(s.idle, 0);
    assert_int_equal(s.closed, 2);
    assert_eo_ok(eo_pool_acquire(p, &a, &err), &err);
    assert_int_equal(stats_of(p).opened, 3);
    eo_pool_release(p, a);
    eo_pool_unref(p);
}

/* ---- validation, broken connections (PostgreSQL) ------------------- */

typedef struct pgrole {
    char admin[700];  /* the test URL (superuser) */
    char role[64];
    char url[800];    /* the same server as `role` */
} pgrole;

/* A login role of our own, so our backends can be told from everyone's. */
static void role_make(pgrole *r, const char *tag)
{
    const char *base = th_pg_url(), *scheme, *at;
    char sql[256];
    snprintf(r->admin, sizeof r->admin, "%s", base);
    snprintf(r->role, sizeof r->role, "eo_%s_%ld", tag, (long)getpid());
    scheme = strstr(base, "://");
    at = strchr(base, '@');
    assert_non_null(scheme);
    assert_non_null(at);
    snprintf(r->url, sizeof r->url, "%.*s%s%s", (int)(scheme + 3 - base), base, r->role, at);
    snprintf(sql, sizeof sql,
             "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN "
             "CREATE ROLE %s LOGIN; END IF; END $$",
             r->role, r->role);
    th_pg_exec(r->admin, sql, NULL, 0);
}

static long role_backends(const pgrole *r)
{
    char sql[256], out[32];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE usename = '%s'", r->role);
    th_pg_exec(r->admin, sql, out, sizeof out);
    return atol(out);
}

/* Terminate every backend of the role and wait until they are gone. */
static long role_kill(const pgrole *r)
{
    char sql[256], out[32];
    double t0 = th_now_ms();
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '%s'",
             r->role);
    th_pg_exec(r->admin, sql, out, sizeof out);
    while (role_backends(r) > 0) {
        if (th_now_ms() - t0 > 5000)
            fail_msg("backends of %s still alive 5 s after pg_terminate_backend", r->role);
        th_sleep_ms(10);
    }
    return atol(out);
}

static void role_drop(const pgrole *r)
{
    char sql[128];
    role_kill(r);
    snprintf(sql, sizeof sql, "DROP ROLE IF EXISTS %s", r->role);
    th_pg_exec(r->admin, sql, NULL, 0);
}

static void test_pool__postgresql_validation_after_idle(void **state)
{
    pgrole r;
    eo_pool_config pc = quick_config();
    eo_pool *p;
    eo_conn *c, *d;
    eo_error err;
    eo_pool_stats s;
    (void)state;

    role_make(&r, "val");
    pc.max_size = 2;
    pc.validate_idle_ms = 50;
    p = new_pool(r.url, &pc);
    assert_eo_ok(eo_pool_acquire(p, &c, &err), &err);
    eo_pool_release(p, c);
    assert_int_equal(role_backends(&r), 1);

    /* the server ends the idle backend behind the pool's back */
    assert_int_equal(role_kill(&r), 1);
    th_sleep_ms(80); /* idle longer than validate_idle_ms */
    assert_eo_ok(eo_pool_acquire(p, &d, &err), &err);
    /* the ping found it dead: a fresh, working connection was lent */
    assert_eo_ok(d->adapter->ping(d, &err), &err);
    assert_false(d->broken);
    s = stats_of(p);
    assert_int_equal(s.reconnects, 1);
    assert_int_equal(s.errors, 1);
    assert_int_equal(s.opened, 2);
    assert_int_equal(s.closed, 1);
    assert_int_equal(s.size, 1);
    assert_int_equal(role_backends(&r), 1);
    eo_pool_release(p, d);
    eo_pool_unref(p);
    role_drop(&r);
}

static void test_pool__postgresql_broken_connection_is_discarded(void **state)
{
    pgrole r;
    eo_pool_config pc = quick_config();
    eo_pool *p;
    eo_conn *c, *d;
    eo_error err;
    eo_pool_stats s;
    (void)state;

    role_make(&r, "brk");
    pc.max_size = 2;
    pc.validate_idle_ms = 600000; /* no ping: the borrower meets the dead connection */
    p = new_pool(r.url, &pc);
    assert_eo_ok(eo_pool_acquire(p, &c, &err), &err);
    eo_pool_release(p, c);
    assert_int_equal(role_kill(&r), 1);
    assert_eo_ok(eo_pool_acquire(p, &d, &err), &err);
    assert_ptr_equal(c, d); /* lent without a check */
    assert_eo_error(d->adapter->ping(d, &err), &err, EO_ECONN, "postgresql");
    assert_true(d->broken);
    eo_pool_release(p, d);
    s = stats_of(p);
    assert_int_equal(s.size, 0);
    assert_int_equal(s.idle, 0);
    assert_int_equal(s.closed, 1);
    assert_int_equal(s.reconnects, 1);
    /* the next borrower gets a new connection that works */
    assert_eo_ok(eo_pool_acquire(p, &c, &err), &err);
    assert_eo_ok(c->adapter->ping(c, &err), &err);
    assert_int_equal(stats_of(p).opened, 2);
    assert_int_equal(role_backends(&r), 1);
    eo_pool_release(p, c);
    eo_pool_unref(p);
    role_drop(&r);
}

static void test_pool__broken_connection_is_discarded(void **state)
{
    fx *f = *state;
    eo_pool *p = new_pool(f->url, NULL);
    eo_conn *c;
    eo_error err;
    eo_pool_stats s;
    assert_eo_ok(eo_pool_acquire(p, &c, &err), &err);
    c->broken = 1; /* what an adapter does after a fatal driver error */
    eo_pool_release(p, c);
    s = stats_of(p);
    assert_int_equal(s.size, 0);
    assert_int_equal(s.idle, 0);
    assert_int_equal(s.in_use, 0);
    assert_int_equal(s.closed, 1);
    assert_int_equal(s.reconnects, 1);
    assert_eo_ok(eo_pool_acquire(p, &c, &err), &err);
    assert_false(c->broken);
    assert_eo_ok(c->adapter->ping(c, &err), &err);
    assert_int_equal(stats_of(p).opened, 2);
    eo_pool_release(p, c);
    eo_pool_unref(p);
}

/* ---- connect retry ------------------------------------------------- */

static void retry_case(unsigned retries, unsigned backoff, unsigned cap, double lo, double hi)
{
    char url[200];
    eo_pool_config pc = quick_config();
    eo_pool *p;
    eo_conn *c = NULL;
    eo_error err;
    eo_pool_stats s;
    double t0, ms;
    int port = th_closed_port();
    char want[64];

    snprintf(url, sizeof url, "postgresql://postgres@127.0.0.1:%d/earnorm_test?connect_timeout=2", port);
    pc.connect_retries = retries;
    pc.backoff_ms = backoff;
    pc.backoff_max_ms = cap;
    p = new_pool(url, &pc); /* min_size 0: nothing connects yet */
    t0 = th_now_ms();
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    assert_eo_error(eo_pool_acquire(p, &c, &err), &err, EO_ECONN, want);
    ms = th_now_ms() - t0;
    assert_null(c);
    assert_int_equal(err.domain, EO_DOMAIN_PG);
    if (ms < lo || ms > hi)
        fail_msg("%u retries (backoff %u ms, cap %u) took %.0f ms, expected %.0f..%.0f",
                 retries, backoff, cap, ms, lo, hi);
    s = stats_of(p);
    /* one error per failed attempt */
    assert_int_equal(s.errors, retries + 1);
    assert_int_equal(s.opened, 0);
    assert_int_equal(s.size, 0);
    assert_int_equal(s.in_use, 0);
    assert_int_equal(s.acquires, 0);
    eo_pool_unref(p);
}

static void test_pool__connect_retry_with_backoff(void **state)
{
    (void)state;
    /* delays 100, 200, 400, each between half and all: 350..700 ms */
    retry_case(3, 100, 2000, 340, 1000);
    /* no retry: fails at once */
    retry_case(0, 100, 2000, 0, 90);
    /* capped: 100, 120, 120, 120 -> 230..460 ms (uncapped would be >= 750) */
    retry_case(4, 100, 120, 220, 700);
}

static void test_pool__min_size_connects_at_creation(void **state)
{
    char url[200];
    eo_pool_config pc = quick_config();
    eo_pool *p = (eo_pool *)&pc;
    eo_error err;
    (void)state;
    snprintf(url, sizeof url, "postgresql://postgres@127.0.0.1:%d/x", th_closed_port());
    pc.min_size = 1;
    pc.connect_retries = 0;
    assert_eo_error(eo_pool_new(&p, url, &pc, &err), &err, EO_ECONN, "cannot connect");
    assert_null(p);
    /* and an unknown scheme is refused before anything connects */
    assert_eo_error(eo_pool_new(&p, "mysql://x/y", &pc, &err), &err, EO_EINVAL, "no database adapter");
    assert_null(p);
}

/* ---- transactions never come back ---------------------------------- */

static void no_open_txn(const char *url)
{
    eo_pool_config pc = quick_config();
    eo_registry *reg = th_registry_simple("pool.txn");
    const eo_model *m = eo_registry_find(reg, "pool.txn");
    eo_pool *p;
    eo_env *env = NULL;
    eo_env_config ec = EO_ENV_CONFIG_INIT;
    eo_conn *c, *d;
    eo_error err;
    eo_id id;
    int64_t n = -1;
    one_row r = { m, "uncommitted", 1, 1 };

    pc.max_size = 1; /* every borrower gets the same connection */
    p = new_pool(url, &pc);
    ec.database_url = url;
    ec.pool = p;
    assert_eo_ok(eo_env_open(&env, reg, &ec, &err), &err);
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    assert_eo_ok(eo_env_begin(env, EO_ISO_DEFAULT, &err), &err);
    assert_eo_ok(eo_orm_create(env, m, 1, one_row_cb, &r, 0, &id, &err), &err);
    assert_int_equal(eo_env_txn_depth(env), 1);
    assert_int_equal(stats_of(p).in_use, 1);
    /* the env dies with its transaction open: the connection goes back */
    eo_env_free(env);
    env = NULL;
    assert_int_equal(stats_of(p).in_use, 0);
    /* the next borrower (the same connection) does not see the write: had
     * the transaction stayed open, its count would include it */
    assert_eo_ok(eo_env_open(&env, reg, &ec, &err), &err);
    assert_int_equal(eo_env_txn_depth(env), 0);
    assert_eo_ok(eo_orm_search_count(env, m, NULL, &n, &err), &err);
    assert_int_equal(n, 0);
    eo_env_free(env);
    env = NULL;
    assert_eo_ok(eo_pool_acquire(p, &c, &err), &err);
    assert_int_equal(c->txn_depth, 0);
    /* no transaction is open on the server either: BEGIN works */
    assert_eo_ok(c->adapter->begin(c, EO_ISO_DEFAULT, &err), &err);
    c->txn_depth = 1;
    /* released with that transaction open: rolled back, lent again clean */
    eo_pool_release(p, c);
    assert_eo_ok(eo_pool_acquire(p, &d, &err), &err);
    assert_ptr_equal(c, d);
    assert_int_equal(d->txn_depth, 0);
    assert_eo_ok(d->adapter->begin(d, EO_ISO_DEFAULT, &err), &err);
    assert_eo_ok(d->adapter->rollback(d, &err), &err);
    eo_pool_release(p, d);
    /* and the uncommitted write is still gone */
    n = -1;
    assert_eo_ok(eo_env_open(&env, reg, &ec, &err), &err);
    assert_eo_ok(eo_orm_search_count(env, m, NULL, &n, &err), &err);
    assert_int_equal(n, 0);
    assert_int_equal(eo_env_txn_depth(env), 0);
    eo_env_free(env);
    assert_int_equal(stats_of(p).reconnects, 0);
    eo_pool_unref(p);
    eo_registry_free(reg);
}

static void test_pool__never_lends_an_open_transaction_sqlite(void **state)
{
    fx *f = *state;
    no_open_txn(f->url);
}

static void test_pool__never_lends_an_open_transaction_postgresql(void **state)
{
    const char *url = th_pg_url();
    (void)state;
    th_pg_exec(url, "DROP TABLE IF EXISTS pool_txn", NULL, 0);
    no_open_txn(url);
}

/* ---- URL options, sqlite::memory: ---------------------------------- */

static void test_pool__url_options_override_the_config(void **state)
{
    fx *f = *state;
    eo_pool_config pc = quick_config();
    eo_pool *p;
    eo_conn *a, *b, *c = NULL;
    eo_error err;
    eo_pool_stats s;
    char url[900];
    double t0, ms;

    pc.max_size = 8;
    pc.acquire_timeout_ms = 5000;
    snprintf(url, sizeof url, "%s?pool_max=2&pool_timeout=150&pool_min=1", f->url);
    p = new_pool(url, &pc);
    s = stats_of(p);
    assert_int_equal(s.max_size, 2);
    assert_int_equal(s.size, 1); /* pool_min */
    assert_int_equal(s.opened, 1);
    assert_eo_ok(eo_pool_acquire(p, &a, &err), &err);
    assert_eo_ok(eo_pool_acquire(p, &b, &err), &err);
    t0 = th_now_ms();
    assert_eo_error(eo_pool_acquire(p, &c, &err), &err, EO_ETIMEOUT, "all 2 connections busy for 150 ms");
    ms = th_now_ms() - t0;
    if (ms < 145 || ms > 600)
        fail_msg("pool_timeout=150 gave up after %.0f ms", ms);
    eo_pool_release(p, a);
    eo_pool_release(p, b);
    eo_pool_unref(p);

    /* idle_timeout and max_lifetime from the URL too */
    snprintf(url, sizeof url, "%s?idle_timeout=50&max_lifetime=100000", f->url);
    pc.idle_timeout_ms = 600000;
    p = new_pool(url, &pc);
    assert_eo_ok(eo_pool_acquire(p, &a, &err), &err);
    assert_eo_ok(eo_pool_acquire(p, &b, &err), &err);
    eo_pool_release(p, a);
    eo_pool_release(p, b);
    th_sleep_ms(100);
    assert_eo_ok(eo_pool_acquire(p, &a, &err), &err);
    s = stats_of(p);
    /* both idled past 50 ms (min_size 0): closed, and a new one opened */
    assert_int_equal(s.closed, 2);
    assert_int_equal(s.opened, 3);
    assert_int_equal(s.size, 1);
    eo_pool_release(p, a);
    eo_pool_unref(p);

    /* bad values are refused */
    p = NULL;
    snprintf(url, sizeof url, "%s?pool_max=two", f->url);
    assert_eo_error(eo_pool_new(&p, url, &pc, &err), &err, EO_EINVAL, "pool options in the URL");
    assert_null(p);
    snprintf(url, sizeof url, "%s?pool_timeout=-5", f->url);
    assert_eo_error(eo_pool_new(&p, url, &pc, &err), &err, EO_EINVAL, "non-negative integers");
    snprintf(url, sizeof url, "%s?pool_min=", f->url);
    assert_eo_error(eo_pool_new(&p, url, &pc, &err), &err, EO_EINVAL, "non-negative integers");
    assert_null(p);
}

static void test_pool__url_options_postgresql(void **state)
{
    char url[900];
    eo_pool_config pc = quick_config();
    eo_pool *p;
    eo_conn *a, *b = NULL;
    eo_error err;
    const char *base = th_pg_url();
    (void)state;
    /* the pool's own options must not reach libpq (which refuses unknown ones) */
    snprintf(url, sizeof url,
             "%s?pool_min=1&pool_max=1&pool_timeout=60&idle_timeout=100000&max_lifetime=100000", base);
    p = new_pool(url, &pc);
    assert_int_equal(stats_of(p).max_size, 1);
    assert_int_equal(stats_of(p).size, 1);
    assert_eo_ok(eo_pool_acquire(p, &a, &err), &err);
    assert_eo_ok(a->adapter->ping(a, &err), &err);
    assert_eo_error(eo_pool_acquire(p, &b, &err), &err, EO_ETIMEOUT, "busy for 60 ms");
    eo_pool_release(p, a);
    eo_pool_unref(p);
}

static void test_pool__sqlite_memory_is_one_connection_that_keeps_its_data(void **state)
{
    eo_pool_config pc = quick_config();
    eo_registry *reg = th_registry_simple("pool.mem");
    const eo_model *m = eo_registry_find(reg, "pool.mem");
    eo_pool *p;
    eo_env *a = NULL, *b = NULL;
    eo_env_config ec = EO_ENV_CONFIG_INIT;
    eo_error err;
    eo_id ids[3];
    eo_conn *c = NULL;
    int64_t n = -1;
    int i;
    (void)state;

    pc.max_size = 8;
    pc.idle_timeout_ms = 1;   /* ignored: closing it would lose the data */
    pc.max_lifetime_ms = 1;   /* likewise */
    pc.validate_idle_ms = 0;
    pc.acquire_timeout_ms = 50;
    p = new_pool("sqlite::memory:", &pc);
    assert_int_equal(stats_of(p).max_size, 1);
    ec.database_url = "sqlite::memory:";
    ec.pool = p;
    assert_eo_ok(eo_env_open(&a, reg, &ec, &err), &err);
    assert_eo_ok(eo_env_migrate(a, 0, NULL, NULL, &err), &err);
    for (i = 0; i < 3; i++) {
        one_row r = { m, "mem", i, i };
        assert_eo_ok(eo_orm_create(a, m, 1, one_row_cb, &r, 0, &ids[i], &err), &err);
    }
    th_sleep_ms(30);
    /* another env on the same pool sees the same database */
    assert_eo_ok(eo_env_open(&b, reg, &ec, &err), &err);
    assert_eo_ok(eo_orm_search_count(b, m, NULL, &n, &err), &err);
    assert_int_equal(n, 3);
    /* one connection only: a transaction holds it, a second borrower waits */
    assert_eo_ok(eo_env_begin(a, EO_ISO_DEFAULT, &err), &err);
    assert_eo_error(eo_pool_acquire(p, &c, &err), &err, EO_ETIMEOUT, "all 1 connections busy");
    assert_eo_ok(eo_env_rollback(a, &err), &err);
    assert_int_equal(stats_of(p).opened, 1);
    assert_int_equal(stats_of(p).closed, 0);
    eo_env_free(a);
    eo_env_free(b);
    eo_pool_unref(p);

    /* pool_max in the URL cannot raise it either */
    p = new_pool("sqlite::memory:?pool_max=4", &pc);
    assert_int_equal(stats_of(p).max_size, 1);
    eo_pool_unref(p);
    eo_registry_free(reg);
}

/* ---- statistics and references ------------------------------------- */

static void test_pool__stats_count_exactly(void **state)
{
    fx *f = *state;
    eo_pool_config pc = quick_config();
    eo_pool *p;
    eo_conn *c[3];
    eo_error err;
    eo_pool_stats s;
    int i, round;

    pc.max_size = 3;
    p = new_pool(f->url, &pc);
    s = stats_of(p);
    assert_int_equal(s.size, 0);
    assert_int_equal(s.in_use, 0);
    assert_int_equal(s.idle, 0);
    assert_int_equal(s.max_size, 3);
    assert_int_equal(s.acquires, 0);
    assert_int_equal(s.waits, 0);
    assert_int_equal(s.wait_ns, 0);
    assert_int_equal(s.timeouts, 0);
    assert_int_equal(s.errors, 0);
    assert_int_equal(s.reconnects, 0);
    assert_int_equal(s.opened, 0);
    assert_int_equal(s.closed, 0);
    for (round = 0; round < 5; round++) {
        for (i = 0; i < 3; i++)
            assert_eo_ok(eo_pool_acquire(p, &c[i], &err), &err);
        s = stats_of(p);
        assert_int_equal(s.in_use, 3);
        assert_int_equal(s.idle, 0);
        for (i = 0; i < 2; i++)
            eo_pool_release(p, c[i]);
        s = stats_of(p);
        assert_int_equal(s.in_use, 1);
        assert_int_equal(s.idle, 2);
        eo_pool_release(p, c[2]);
    }
    s = stats_of(p);
    assert_int_equal(s.acquires, 15);
    assert_int_equal(s.opened, 3);
    assert_int_equal(s.size, 3);
    assert_int_equal(s.waits, 0);
    assert_int_equal(s.closed, 0);
    assert_string_equal(eo_pool_adapter(p)->name, "sqlite");
    assert_string_equal(eo_pool_url(p), f->url);
    eo_pool_unref(p);
}

static void test_pool__envs_hold_a_reference(void **state)
{
    fx *f = *state;
    eo_registry *reg = th_registry_simple("pool.ref");
    eo_pool *p = new_pool(f->url, NULL);
    eo_env *env = NULL;
    eo_env_config ec = EO_ENV_CONFIG_INIT;
    eo_error err;
    int64_t n = -1;
    ec.database_url = f->url;
    ec.pool = p;
    assert_eo_ok(eo_env_open(&env, reg, &ec, &err), &err);
    assert_ptr_equal(eo_env_pool(env), p);
    eo_pool_unref(p); /* the env keeps it alive */
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    assert_eo_ok(eo_orm_search_count(env, eo_registry_find(reg, "pool.ref"), NULL, &n, &err), &err);
    assert_int_equal(n, 0);
    assert_true(stats_of(eo_env_pool(env)).acquires >= 2);
    eo_env_free(env);
    eo_registry_free(reg);
}

/* ---- SQLite write contention: writers wait for the lock ----------- */

#define CONTEND_OPS 300   /* per writer: create, write, a transaction, unlink */

typedef struct contender {
    int k;
    eo_pool *pool;          /* threads share one; processes open their own env */
    eo_registry *reg;
    const char *url;
    int failures;           /* operations that failed (any code) */
    int busy;               /* of which EO_EBUSY */
    char first[600];
} contender;

static int partner_row(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    const eo_model *m = payload;
    (void)i;
    (void)cap;
    (void)err;
    out[0].field = eo_model_field(m, "name", 4);
    out[0].value = eo_cstr("contender");
    *n = 1;
    return EO_OK;
}

static void contend_failed(contender *c, int rc, const char *what, const eo_error *err)
{
    c->failures++;
    if (rc == EO_EBUSY)
        c->busy++;
    if (!c->first[0])
        snprintf(c->first, sizeof c->first, "%s: %s: %s", what, eo_code_name(rc), err->msg);
}

/* Each round reads before it writes inside a transaction: unlink looks
 * for records pointing at the one it deletes (parent_id), and a user's
 * transaction counts, then writes. A deferred BEGIN then fails at once with
 * SQLITE_BUSY when another connection writes (the lock upgrade never
 * calls the busy handler); BEGIN IMMEDIATE waits up to the busy timeout. */
static void contend(contender *c)
{
    eo_env *env = NULL;
    eo_env_config ec = EO_ENV_CONFIG_INIT;
    const eo_model *m = eo_registry_find(c->reg, "res.partner");
    eo_error err;
    int i, rc;
    ec.database_url = c->url;
    ec.pool = c->pool;
    if ((rc = eo_env_open(&env, c->reg, &ec, &err)) != EO_OK) {
        contend_failed(c, rc, "open", &err);
        return;
    }
    for (i = 0; i < CONTEND_OPS; i++) {
        eo_id id;
        eo_kv kv;
        kv.field = eo_model_field(m, "age", 3);
        kv.value = eo_int(i % 100);
        if ((rc = eo_orm_create(env, m, 1, partner_row, (void *)m, 0, &id, &err)) != EO_OK) {
            contend_failed(c, rc, "create", &err);
            continue;
        }
        if ((rc = eo_orm_write(env, m, &id, 1, &kv, 1, 0, &err)) != EO_OK)
            contend_failed(c, rc, "write", &err);
        /* a user's transaction that reads, then writes (env:transaction) */
        if ((rc = eo_env_begin(env, EO_ISO_DEFAULT, &err)) != EO_OK) {
            contend_failed(c, rc, "begin", &err);
        } else {
            int64_t n = 0;
            kv.value = eo_int(i % 100 + 1);
            if ((rc = eo_orm_search_count(env, m, NULL, &n, &err)) != EO_OK ||
                (rc = eo_orm_write(env, m, &id, 1, &kv, 1, 0, &err)) != EO_OK) {
                contend_failed(c, rc, "write in a transaction", &err);
                eo_env_rollback(env, NULL);
            } else if ((rc = eo_env_commit(env, &err)) != EO_OK) {
                contend_failed(c, rc, "commit", &err);
            }
        }
        if ((rc = eo_orm_unlink(env, m, &id, 1, &err)) != EO_OK)
            contend_failed(c, rc, "unlink", &err);
    }
    eo_env_free(env);
}

static void *contend_thread(void *arg)
{
    contend(arg);
    return NULL;
}

static void contend_setup(const char *url, eo_registry *reg)
{
    eo_env *env = NULL;
    eo_env_config ec = EO_ENV_CONFIG_INIT;
    eo_error err;
    ec.database_url = url;
    assert_eo_ok(eo_env_open(&env, reg, &ec, &err), &err);
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    eo_env_free(env);
}

static void test_pool__sqlite_writers_wait_for_the_lock_threads(void **state)
{
    fx *f = *state;
    eo_pool_config pc = EO_POOL_CONFIG_INIT;
    eo_registry *reg = th_registry();
    contender c[THREADS];
    pthread_t th[THREADS];
    eo_pool *pool;
    char url[800];
    int k, failures = 0;
    snprintf(url, sizeof url, "sqlite://%s/contend.db?timeout=20000", f->dir);
    contend_setup(url, reg);
    pc.max_size = THREADS; /* one connection per thread: they really contend */
    pc.acquire_timeout_ms = 20000;
    pool = new_pool(url, &pc);
    memset(c, 0, sizeof c);
    for (k = 0; k < THREADS; k++) {
        c[k].k = k;
        c[k].pool = pool;
        c[k].reg = reg;
        c[k].url = url;
        assert_int_equal(pthread_create(&th[k], NULL, contend_thread, &c[k]), 0);
    }
    for (k = 0; k < THREADS; k++)
        pthread_join(th[k], NULL);
    for (k = 0; k < THREADS; k++) {
        failures += c[k].failures;
        if (c[k].failures)
            print_message("# thread %d: %d failures (%d EBUSY), first: %s\n", k, c[k].failures,
                          c[k].busy, c[k].first);
    }
    assert_int_equal(failures, 0);
    eo_pool_unref(pool);
    eo_registry_free(reg);
}

static void test_pool__sqlite_writers_wait_for_the_lock_processes(void **state)
{
    fx *f = *state;
    eo_registry *reg = th_registry();
    char url[800];
    pid_t pid[4];
    int k, failures = 0;
    snprintf(url, sizeof url, "sqlite://%s/contend2.db?timeout=20000", f->dir);
    contend_setup(url, reg);
    for (k = 0; k < 4; k++) {
        pid[k] = fork();
        assert_true(pid[k] >= 0);
        if (pid[k] == 0) {
            contender c;
            memset(&c, 0, sizeof c);
            c.k = k;
            c.reg = reg;
            c.url = url;
            contend(&c);
            if (c.failures)
                fprintf(stderr, "# process %d: %d failures (%d EBUSY), first: %s\n", k,
                        c.failures, c.busy, c.first);
            _exit(c.failures > 255 ? 255 : c.failures);
        }
    }
    for (k = 0; k < 4; k++) {
        int st = 0;
        assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
        assert_true(WIFEXITED(st));
        failures += WEXITSTATUS(st);
    }
    assert_int_equal(failures, 0);
    eo_registry_free(reg);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_pool__stress_sqlite_envs),
        T(test_pool__stress_sqlite_engines),
        T(test_pool__stress_postgresql_envs),
        T(test_pool__stress_postgresql_engines),
        T(test_pool__acquire_waits_for_a_release),
        T(test_pool__acquire_timeout),
        T(test_pool__timeout_message_masks_the_password),
        T(test_pool__idle_timeout_closes_idle_connections_above_min),
        T(test_pool__idle_timeout_zero_never_closes),
        T(test_pool__max_lifetime_replaces_old_connections),
        T(test_pool__postgresql_validation_after_idle),
        T(test_pool__postgresql_broken_connection_is_discarded),
        T(test_pool__broken_connection_is_discarded),
        T(test_pool__connect_retry_with_backoff),
        T(test_pool__min_size_connects_at_creation),
        T(test_pool__never_lends_an_open_transaction_sqlite),
        T(test_pool__never_lends_an_open_transaction_postgresql),
        T(test_pool__url_options_override_the_config),
        T(test_pool__url_options_postgresql),
        T(test_pool__sqlite_memory_is_one_connection_that_keeps_its_data),
        T(test_pool__stats_count_exactly),
        T(test_pool__envs_hold_a_reference),
        T(test_pool__sqlite_writers_wait_for_the_lock_threads),
        T(test_pool__sqlite_writers_wait_for_the_lock_processes),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
