/*
 * test_sqlite.c - the SQLite adapter end to end: eo_env_open on
 * "sqlite::memory:" and temp files, eo_env_migrate and the eo_orm_*
 * operations, with query counts from eo_env_stats.
 */
#include <sqlite3.h>
#include <sys/stat.h>

#include "helpers.h"
#include "internal.h" /* eo_buf */

/* ---- fixtures ------------------------------------------------------ */

typedef struct fx {
    eo_registry *reg;
    eo_model *P;
    eo_env *env;
    char dir[512];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_error err;
    f->reg = th_registry();
    f->P = th_partner(f->reg);
    cfg.database_url = "sqlite::memory:";
    if (eo_env_open(&f->env, f->reg, &cfg, &err) != EO_OK ||
        eo_env_migrate(f->env, 0, NULL, NULL, &err) != EO_OK) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    th_tmpdir(f->dir, sizeof f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    eo_env_free(f->env);
    eo_registry_free(f->reg);
    th_rmtree(f->dir);
    free(f);
    return 0;
}

/* One row for create: the fields given and their values. */
typedef struct trow {
    size_t n;
    const char *f[16];
    eo_value v[16];
} trow;

typedef struct rows_src {
    const eo_model *m;
    const trow *rows;
} rows_src;

static int row_cb(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    rows_src *src = payload;
    const trow *r = &src->rows[i];
    size_t j;
    for (j = 0; j < r->n; j++) {
        const eo_field *f = eo_model_field(src->m, r->f[j], strlen(r->f[j]));
        if (f == NULL)
            return eo_error_set(err, EO_EINVAL, "test: no field %s", r->f[j]);
        if (j >= cap)
            return eo_error_set(err, EO_EINVAL, "test: too many fields");
        out[j].field = f;
        out[j].value = r->v[j];
    }
    *n = r->n;
    return EO_OK;
}

static int create(eo_env *env, const eo_model *m, const trow *rows, size_t n, eo_id *ids,
                  eo_error *err)
{
    rows_src src;
    eo_id tmp[64];
    src.m = m;
    src.rows = rows;
    return eo_orm_create(env, m, n, row_cb, &src, 0, ids ? ids : tmp, err);
}

/* Create one record with a name (and optionally an email). */
static eo_id create_named(eo_env *env, const eo_model *m, const char *name, const char *email)
{
    trow r;
    eo_id id;
    eo_error err;
    memset(&r, 0, sizeof r);
    r.f[r.n] = "name";
    r.v[r.n++] = eo_cstr(name);
    if (email) {
        r.f[r.n] = "email";
        r.v[r.n++] = eo_cstr(email);
    }
    assert_eo_ok(create(env, m, &r, 1, &id, &err), &err);
    return id;
}

static eo_domain *dom(const char *json)
{
    eo_domain *d = NULL;
    eo_error err;
    assert_eo_ok(eo_domain_from_json(&d, json, strlen(json), &err), &err);
    return d;
}

static int64_t count(eo_env *env, const eo_model *m, const char *json)
{
    eo_domain *d = dom(json);
    eo_error err;
    int64_t n = -1;
    assert_eo_ok(eo_orm_search_count(env, m, d, &n, &err), &err);
    eo_domain_free(d);
    return n;
}

static void search(eo_env *env, const eo_model *m, const char *json, const char *order,
                   int64_t limit, int64_t offset, eo_ids *out)
{
    eo_domain *d = dom(json);
    eo_error err;
    assert_eo_ok(eo_orm_search(env, m, d, order, limit, offset, out, &err), &err);
    eo_domain_free(d);
}

/* Rows as text, "a|b|c;" per row, for easy comparison. */
static void fmt_value(eo_buf *b, const eo_value *v)
{
    switch (v->type) {
    case EO_VNULL: eo_buf__puts(b, "null"); break;
    case EO_VBOOL: eo_buf__puts(b, v->u.b ? "true" : "false"); break;
    case EO_VINT: eo_buf__printf(b, "%lld", (long long)v->u.i); break;
    case EO_VFLOAT: eo_buf__printf(b, "%g", v->u.f); break;
    case EO_VTEXT: eo_buf__put(b, v->u.s.p, v->u.s.n); break;
    case EO_VBLOB: eo_buf__printf(b, "<%zu bytes>", v->u.s.n); break;
    }
}

static int collect_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    eo_buf *b = payload;
    size_t i;
    (void)err;
    for (i = 0; i < ncols; i++) {
        if (i)
            eo_buf__putc(b, '|');
        fmt_value(b, &row[i]);
    }
    eo_buf__putc(b, ';');
    return EO_OK;
}

/* Field list from names. */
static size_t fields_of(const eo_model *m, const char *const *names, const eo_field **out)
{
    size_t n = 0;
    for (; names[n]; n++)
        out[n] = th_field(m, names[n]);
    return n;
}

/* read_rows of the given fields for ids, as text. Owned. */
static char *read_text(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                       const char *const *names)
{
    const eo_field *fields[32];
    size_t nf = fields_of(m, names, fields);
    eo_buf b = EO_BUF_INIT;
    eo_error err;
    assert_eo_ok(eo_orm_read_rows(env, m, ids, n, fields, nf, collect_row, &b, &err), &err);
    return eo_buf__detach(&b);
}

#define assert_text_eq(got, want)                                                    \
    do {                                                                             \
        char *g_ = (got);                                                            \
        if (strcmp(g_, (want)) != 0) {                                               \
            char c_[2048];                                                           \
            snprintf(c_, sizeof c_, "%s", g_);                                       \
            eo_free(g_);                                                             \
            fail_msg("got      %s\nexpected %s", c_, (want));                        \
        }                                                                            \
        eo_free(g_);                                                                 \
    } while (0)

static uint64_t queries(eo_env *env)
{
    eo_stats st;
    eo_env_stats(env, &st);
    return st.queries;
}

/* ---- opening ------------------------------------------------------- */

static void test_sqlite__open_memory(void **state)
{
    fx *f = *state;
    double ms = -1;
    eo_error err;
    assert_string_equal(eo_env_backend(f->env), "sqlite");
    assert_int_equal(eo_env_idkind(f->env), EO_IDNUM);
    assert_string_equal(eo_env_url(f->env), "sqlite::memory:");
    assert_ptr_equal(eo_env_registry(f->env), f->reg);
    assert_int_equal(eo_env_txn_depth(f->env), 0);
    assert_eo_ok(eo_env_ping(f->env, &ms, &err), &err);
    assert_true(ms >= 0);
}

static void test_sqlite__open_errors(void **state)
{
    fx *f = *state;
    eo_env *env = (eo_env *)1;
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_error err;
    char url[700];
    cfg.database_url = "mysql://localhost/db";
    assert_eo_error(eo_env_open(&env, f->reg, &cfg, &err), &err, EO_EINVAL, "no database adapter for 'mysql://'");
    assert_non_null(strstr(err.msg, "known: sqlite"));
    assert_null(env);
    cfg.database_url = "just-a-file.db";
    assert_eo_error(eo_env_open(&env, f->reg, &cfg, &err), &err, EO_EINVAL,
                    "invalid database URL 'just-a-file.db': expected scheme://..., like sqlite://demo.db");
    cfg.database_url = "sqlite://";
    assert_eo_error(eo_env_open(&env, f->reg, &cfg, &err), &err, EO_EINVAL, "no file name");
    cfg.database_url = "pg://u:secret@h:99999/db";
    assert_eo_error(eo_env_open(&env, f->reg, &cfg, &err), &err, EO_EINVAL, "bad port");
    snprintf(url, sizeof url, "sqlite://%s/no/such/dir/x.db", f->dir);
    cfg.database_url = url;
    assert_eo_error(eo_env_open(&env, f->reg, &cfg, &err), &err, EO_ECONN, "sqlite: cannot open");
    assert_int_equal(err.domain, EO_DOMAIN_SQLITE);
    assert_null(env);
}

static void test_sqlite__file_database_uses_wal(void **state)
{
    fx *f = *state;
    eo_env *env = NULL;
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_error err;
    char url[700], path[600];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    snprintf(path, sizeof path, "%s/wal.db", f->dir);
    snprintf(url, sizeof url, "sqlite://%s", path);
    cfg.database_url = url;
    assert_eo_ok(eo_env_open(&env, f->reg, &cfg, &err), &err);
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    create_named(env, f->P, "Ann", NULL);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    /* another connection sees the committed record */
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM res_partner", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "Ann");
    sqlite3_finalize(st);
    sqlite3_close(db);
    eo_env_free(env);
}

/* ---- migration ----------------------------------------------------- */

typedef struct notes {
    char text[8192];
    int n;
} notes;

static void note_cb(void *payload, const char *line)
{
    notes *ns = payload;
    size_t len = strlen(ns->text);
    snprintf(ns->text + len, sizeof ns->text - len, "%s\n", line);
    ns->n++;
}

static void test_sqlite__migrate_creates_tables_and_indexes(void **state)
{
    fx *f = *state;
    eo_env *env = NULL;
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_error err;
    notes ns;
    eo_stats st;
    cfg.database_url = "sqlite::memory:";
    assert_eo_ok(eo_env_open(&env, f->reg, &cfg, &err), &err);
    /* dry run: says what it would do, does nothing */
    memset(&ns, 0, sizeof ns);
    assert_eo_ok(eo_env_migrate(env, 1, note_cb, &ns, &err), &err);
    assert_non_null(strstr(ns.text, "CREATE TABLE \"res_partner\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT"));
    eo_env_stats(env, &st);
    assert_int_equal(st.by_kind[EO_Q_DDL], 0);
    /* for real */
    memset(&ns, 0, sizeof ns);
    assert_eo_ok(eo_env_migrate(env, 0, note_cb, &ns, &err), &err);
    assert_non_null(strstr(ns.text, "CREATE TABLE \"res_partner\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, "
                                    "\"name\" TEXT NOT NULL, \"email\" TEXT, \"age\" INTEGER"));
    assert_non_null(strstr(ns.text, "CREATE TABLE \"res_tag\""));
    assert_non_null(strstr(ns.text, "CREATE UNIQUE INDEX \"res_partner__email_uniq\" ON \"res_partner\" (\"email\")"));
    assert_non_null(strstr(ns.text, "CREATE INDEX \"res_partner__name_idx\" ON \"res_partner\" (\"name\")"));
    assert_non_null(strstr(ns.text, "CREATE INDEX \"res_partner__parent_id_idx\" ON \"res_partner\" (\"parent_id\")"));
    assert_null(strstr(ns.text, "age_idx"));
    eo_env_stats(env, &st);
    assert_int_equal(st.by_kind[EO_Q_DDL], 5);
    assert_int_equal(count(env, f->P, "[]"), 0);
    /* again: nothing to do */
    memset(&ns, 0, sizeof ns);
    eo_env_reset_stats(env);
    assert_eo_ok(eo_env_migrate(env, 0, note_cb, &ns, &err), &err);
    assert_int_equal(ns.n, 0);
    eo_env_stats(env, &st);
    assert_int_equal(st.by_kind[EO_Q_DDL], 0);
    eo_env_free(env);
}

/* res.partner with name (required) and age; `extra` adds one field. */
static eo_registry *mini_registry(const eo_field_spec *extra)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    eo_field_spec s;
    eo_error err;
    if (eo_registry_new(&reg, &err) != EO_OK || eo_registry_add_model(&m, reg, "res.partner", &err) != EO_OK)
        fail_msg("%s", err.msg);
    memset(&s, 0, sizeof s);
    s.name = "name";
    s.type = EO_FT_CHAR;
    s.flags = EO_FF_REQUIRED;
    if (eo_model_add_field(NULL, m, &s, &err) != EO_OK)
        fail_msg("%s", err.msg);
    memset(&s, 0, sizeof s);
    s.name = "age";
    s.type = EO_FT_INTEGER;
    if (eo_model_add_field(NULL, m, &s, &err) != EO_OK)
        fail_msg("%s", err.msg);
    if (extra && eo_model_add_field(NULL, m, extra, &err) != EO_OK)
        fail_msg("%s", err.msg);
    return reg;
}

/* Open `path` on reg; migrate; return the env (or fail). */
static eo_env *open_file(eo_registry *reg, const char *path)
{
    eo_env *env = NULL;
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_error err;
    char url[700];
    snprintf(url, sizeof url, "sqlite://%s", path);
    cfg.database_url = url;
    assert_eo_ok(eo_env_open(&env, reg, &cfg, &err), &err);
    return env;
}

/* A file with two records made through the mini registry. */
static void two_records(const char *path)
{
    eo_registry *reg = mini_registry(NULL);
    eo_env *env = open_file(reg, path);
    eo_error err;
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    create_named(env, eo_registry_find(reg, "res.partner"), "Ann", NULL);
    create_named(env, eo_registry_find(reg, "res.partner"), "Bob", NULL);
    eo_env_free(env);
    eo_registry_free(reg);
}

static void test_sqlite__migrate_adds_column(void **state)
{
    fx *f = *state;
    char path[600];
    eo_field_spec s;
    eo_registry *reg;
    eo_env *env;
    eo_model *m;
    eo_error err;
    notes ns;
    eo_ids ids = { 0 };
    eo_kv kv;
    snprintf(path, sizeof path, "%s/add.db", f->dir);
    two_records(path);
    memset(&s, 0, sizeof s);
    s.name = "nickname";
    s.type = EO_FT_CHAR;
    s.flags = EO_FF_INDEX;
    reg = mini_registry(&s);
    m = eo_registry_find(reg, "res.partner");
    env = open_file(reg, path);
    memset(&ns, 0, sizeof ns);
    assert_eo_ok(eo_env_migrate(env, 0, note_cb, &ns, &err), &err);
    assert_non_null(strstr(ns.text, "ALTER TABLE \"res_partner\" ADD COLUMN \"nickname\" TEXT"));
    assert_non_null(strstr(ns.text, "CREATE INDEX \"res_partner__nickname_idx\""));
    /* old records have no value; the new column works */
    assert_int_equal(count(env, m, "[[\"nickname\", \"=\", null]]"), 2);
    search(env, m, "[[\"name\", \"=\", \"Ann\"]]", NULL, -1, 0, &ids);
    assert_int_equal(ids.n, 1);
    kv.field = th_field(m, "nickname");
    kv.value = eo_cstr("annie");
    assert_eo_ok(eo_orm_write(env, m, ids.v, 1, &kv, 1, 0, &err), &err);
    eo_env_invalidate_all(env);
    assert_int_equal(count(env, m, "[[\"nickname\", \"=\", \"annie\"]]"), 1);
    eo_ids_free(&ids);
    eo_env_free(env);
    eo_registry_free(reg);
}

static void test_sqlite__migrate_refuses_type_change(void **state)
{
    fx *f = *state;
    char path[600];
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    eo_env *env;
    eo_field_spec s;
    eo_error err;
    snprintf(path, sizeof path, "%s/type.db", f->dir);
    two_records(path);
    /* the same model with age as text */
    assert_eo_ok(eo_registry_new(&reg, &err), &err);
    assert_eo_ok(eo_registry_add_model(&m, reg, "res.partner", &err), &err);
    memset(&s, 0, sizeof s);
    s.name = "name";
    s.type = EO_FT_CHAR;
    assert_eo_ok(eo_model_add_field(NULL, m, &s, &err), &err);
    s.name = "age";
    assert_eo_ok(eo_model_add_field(NULL, m, &s, &err), &err);
    env = open_file(reg, path);
    assert_eo_error(eo_env_migrate(env, 0, NULL, NULL, &err), &err, EO_EINVAL,
                    "res.partner.age: column is INTEGER but the field needs TEXT; migrate does not change a column's type");
    assert_string_equal(err.model, "res.partner");
    assert_string_equal(err.field, "age");
    assert_int_equal(eo_env_txn_depth(env), 0);
    /* the data is untouched */
    assert_int_equal(count(env, m, "[]"), 2);
    eo_env_free(env);
    eo_registry_free(reg);
}

static void test_sqlite__migrate_refuses_required_without_default(void **state)
{
    fx *f = *state;
    char path[600];
    eo_field_spec s;
    eo_registry *reg;
    eo_env *env;
    eo_error err;
    notes ns;
    snprintf(path, sizeof path, "%s/req.db", f->dir);
    two_records(path);
    memset(&s, 0, sizeof s);
    s.name = "code";
    s.type = EO_FT_CHAR;
    s.flags = EO_FF_REQUIRED;
    reg = mini_registry(&s);
    env = open_file(reg, path);
    assert_eo_error(eo_env_migrate(env, 0, NULL, NULL, &err), &err, EO_EINVAL,
                    "res.partner.code: a new required field without a default, and 2 existing records would have no value");
    assert_string_equal(err.field, "code");
    eo_env_free(env);
    eo_registry_free(reg);
    /* nothing was added: the mini registry still migrates cleanly */
    reg = mini_registry(NULL);
    env = open_file(reg, path);
    memset(&ns, 0, sizeof ns);
    assert_eo_ok(eo_env_migrate(env, 0, note_cb, &ns, &err), &err);
    assert_null(strstr(ns.text, "ADD COLUMN"));
    assert_int_equal(count(env, eo_registry_find(reg, "res.partner"), "[]"), 2);
    eo_env_free(env);
    eo_registry_free(reg);
}

static void test_sqlite__migrate_backfills_default(void **state)
{
    fx *f = *state;
    char path[600];
    eo_field_spec s;
    eo_registry *reg;
    eo_model *m;
    eo_env *env;
    eo_error err;
    eo_value three = eo_int(3);
    notes ns;
    snprintf(path, sizeof path, "%s/fill.db", f->dir);
    two_records(path);
    memset(&s, 0, sizeof s);
    s.name = "level";
    s.type = EO_FT_INTEGER;
    s.flags = EO_FF_REQUIRED;
    s.def = &three;
    reg = mini_registry(&s);
    m = eo_registry_find(reg, "res.partner");
    env = open_file(reg, path);
    memset(&ns, 0, sizeof ns);
    assert_eo_ok(eo_env_migrate(env, 0, note_cb, &ns, &err), &err);
    assert_non_null(strstr(ns.text, "-- res.partner.level: existing records set to the default"));
    assert_int_equal(count(env, m, "[[\"level\", \"=\", 3]]"), 2);
    assert_int_equal(count(env, m, "[[\"level\", \"=\", null]]"), 0);
    eo_env_free(env);
    eo_registry_free(reg);
}

/* res.money: name Char, price Decimal(pp, ps), fee Decimal(fp, fs). */
static eo_registry *money_registry(int pp, int ps, int fp, int fs)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    eo_field_spec s;
    eo_error err;
    if (eo_registry_new(&reg, &err) != EO_OK || eo_registry_add_model(&m, reg, "res.money", &err) != EO_OK)
        fail_msg("%s", err.msg);
    memset(&s, 0, sizeof s);
    s.name = "name";
    s.type = EO_FT_CHAR;
    assert_eo_ok(eo_model_add_field(NULL, m, &s, &err), &err);
    s.name = "price";
    s.type = EO_FT_DECIMAL;
    s.precision = pp;
    s.scale = ps;
    assert_eo_ok(eo_model_add_field(NULL, m, &s, &err), &err);
    s.name = "fee";
    s.precision = fp;
    s.scale = fs;
    assert_eo_ok(eo_model_add_field(NULL, m, &s, &err), &err);
    return reg;
}

static char *money_text(eo_env *env, eo_registry *reg)
{
    static const char *const names[] = { "name", "price", "fee", NULL };
    const eo_model *m = eo_registry_find(reg, "res.money");
    eo_ids ids = { 0 };
    eo_error err;
    char *t;
    assert_eo_ok(eo_orm_search(env, m, NULL, "name", -1, 0, &ids, &err), &err);
    t = read_text(env, m, ids.v, ids.n, names);
    eo_ids_free(&ids);
    return t;
}

/* Every Decimal of a migrate changes, or none: a refusal on the second
 * field leaves the first one's rescale undone (one transaction). */
static void test_sqlite__migrate_decimal_digits_all_or_nothing(void **state)
{
    fx *f = *state;
    char path[600];
    eo_registry *reg;
    eo_env *env;
    eo_error err;
    trow r;
    notes ns;
    snprintf(path, sizeof path, "%s/money.db", f->dir);
    reg = money_registry(12, 2, 12, 2);
    env = open_file(reg, path);
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    memset(&r, 0, sizeof r);
    r.n = 3;
    r.f[0] = "name";
    r.v[0] = eo_cstr("a");
    r.f[1] = "price";
    r.v[1] = eo_cstr("12.30");
    r.f[2] = "fee";
    r.v[2] = eo_cstr("1.25");
    assert_eo_ok(create(env, eo_registry_find(reg, "res.money"), &r, 1, NULL, &err), &err);
    eo_env_free(env);
    eo_registry_free(reg);
    /* price could grow to scale 4, but fee 1.25 does not fit scale 1 */
    reg = money_registry(12, 4, 12, 1);
    env = open_file(reg, path);
    memset(&ns, 0, sizeof ns);
    assert_eo_error(eo_env_migrate(env, 0, note_cb, &ns, &err), &err, EO_EINVAL,
                    "res.money.fee: digits change from (12, 2) to (12, 1), but 1 stored value would not fit without rounding (e.g. 1.25)");
    assert_string_equal(err.model, "res.money");
    assert_string_equal(err.field, "fee");
    assert_non_null(strstr(ns.text, "res.money.price: digits (12, 2) -> (12, 4): stored values rescaled"));
    eo_env_free(env);
    eo_registry_free(reg);
    /* nothing changed: the old declaration reads the old values, and has
     * nothing to migrate */
    reg = money_registry(12, 2, 12, 2);
    env = open_file(reg, path);
    memset(&ns, 0, sizeof ns);
    assert_eo_ok(eo_env_migrate(env, 0, note_cb, &ns, &err), &err);
    assert_string_equal(ns.text, "");
    assert_text_eq(money_text(env, reg), "a|12.30|1.25;");
    eo_env_free(env);
    eo_registry_free(reg);
    /* both fit: both change, and the next migrate has nothing to do */
    reg = money_registry(14, 4, 3, 2);
    env = open_file(reg, path);
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    assert_text_eq(money_text(env, reg), "a|12.3000|1.25;");
    memset(&ns, 0, sizeof ns);
    assert_eo_ok(eo_env_migrate(env, 0, note_cb, &ns, &err), &err);
    assert_string_equal(ns.text, "");
    eo_env_free(env);
    eo_registry_free(reg);
}

/* A table from before the digits were recorded: its values are taken at
 * the digits declared now (nothing says otherwise), and recorded from then
 * on, so the next change is seen. */
static void test_sqlite__migrate_decimal_digits_unrecorded_table(void **state)
{
    fx *f = *state;
    char path[600];
    eo_registry *reg;
    eo_env *env;
    eo_error err;
    trow r;
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/legacy.db", f->dir);
    reg = money_registry(12, 2, 12, 2);
    env = open_file(reg, path);
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    memset(&r, 0, sizeof r);
    r.n = 2;
    r.f[0] = "name";
    r.v[0] = eo_cstr("a");
    r.f[1] = "price";
    r.v[1] = eo_cstr("12.30");
    assert_eo_ok(create(env, eo_registry_find(reg, "res.money"), &r, 1, NULL, &err), &err);
    eo_env_free(env);
    /* the record as a database made before it would have it: none */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE \"earnorm-schema\"", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    env = open_file(reg, path);
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    eo_env_free(env);
    eo_registry_free(reg);
    reg = money_registry(12, 3, 12, 2);
    env = open_file(reg, path);
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    assert_text_eq(money_text(env, reg), "a|12.300|null;");
    eo_env_free(env);
    eo_registry_free(reg);
}

/* ---- create and read ----------------------------------------------- */

static const char *const all_fields[] = {
    "name", "email", "age", "score", "active", "birthday", "seen_at", "kind", "data",
    "price", "blob", "parent_id", NULL,
};

static void test_sqlite__roundtrip_every_type(void **state)
{
    fx *f = *state;
    trow r;
    eo_id ids[2];
    eo_error err;
    const char blob[] = { 'a', '\0', 'b', '\0', '\xff' };
    const eo_field *fields[16];
    size_t nf = fields_of(f->P, all_fields, fields);
    eo_buf b = EO_BUF_INIT;
    memset(&r, 0, sizeof r);
#define SET(name, val) (r.f[r.n] = (name), r.v[r.n++] = (val))
    SET("name", eo_cstr("Ann"));
    SET("email", eo_cstr("ann@example.com"));
    SET("age", eo_int(31));
    SET("score", eo_float(2.5));
    SET("active", eo_bool(0));
    SET("birthday", eo_cstr("2000-02-29"));
    SET("seen_at", eo_cstr("2024-01-02T03:04:05.25+02:00"));
    SET("kind", eo_cstr("company"));
    SET("data", eo_cstr("{\"k\":[1,2]}"));
    SET("price", eo_cstr("1234567890.125"));
    SET("blob", eo_blob(blob, sizeof blob));
    assert_eo_ok(create(f->env, f->P, &r, 1, &ids[0], &err), &err);
    memset(&r, 0, sizeof r);
    SET("name", eo_cstr("Bob"));
    SET("price", eo_cstr("-0.5"));
    SET("parent_id", eo_int(ids[0].num));
#undef SET
    assert_eo_ok(create(f->env, f->P, &r, 1, &ids[1], &err), &err);
    assert_true(ids[1].num > ids[0].num);
    assert_text_eq(read_text(f->env, f->P, ids, 2, all_fields),
                   "Ann|ann@example.com|31|2.5|false|2000-02-29|2024-01-02 01:04:05.250000|company|{\"k\":[1,2]}|"
                   "1234567890.13|<5 bytes>|null;"
                   "Bob|null|null|null|true|null|null|person|null|-0.50|null|1;");
    /* the binary value is exact, NUL bytes included */
    eo_env_invalidate_all(f->env);
    {
        const eo_value *v = NULL;
        assert_eo_ok(eo_orm_get(f->env, f->P, ids[0], th_field(f->P, "blob"), ids, 2, 0, &v, &err), &err);
        assert_int_equal(v->type, EO_VBLOB);
        assert_int_equal(v->u.s.n, sizeof blob);
        assert_memory_equal(v->u.s.p, blob, sizeof blob);
        assert_eo_ok(eo_orm_get(f->env, f->P, ids[0], th_field(f->P, "price"), ids, 2, 0, &v, &err), &err);
        assert_int_equal(v->type, EO_VTEXT);
        assert_string_equal(v->u.s.p, "1234567890.13");
        assert_eo_ok(eo_orm_get(f->env, f->P, ids[0], th_field(f->P, "score"), ids, 2, 0, &v, &err), &err);
        assert_int_equal(v->type, EO_VFLOAT);
        assert_true(v->u.f == 2.5);
        assert_eo_ok(eo_orm_get(f->env, f->P, ids[1], th_field(f->P, "active"), ids, 2, 1, &v, &err), &err);
        assert_int_equal(v->type, EO_VBOOL);
        assert_int_equal(v->u.b, 1);
    }
    /* search_rows gives the same (prefetchable fields) */
    assert_eo_ok(eo_orm_search_rows(f->env, f->P, NULL, fields, nf - 1, "id", -1, 0, collect_row, &b, &err), &err);
    assert_string_equal(b.p, "Ann|ann@example.com|31|2.5|false|2000-02-29|2024-01-02 01:04:05.250000|company|"
                             "{\"k\":[1,2]}|1234567890.13|<5 bytes>;"
                             "Bob|null|null|null|true|null|null|person|null|-0.50|null;");
    eo_buf__free(&b);
}

static void test_sqlite__decimal_exact_search_and_sort(void **state)
{
    fx *f = *state;
    trow r[4];
    eo_ids ids = { 0 };
    eo_error err;
    static const char *const prices[] = { "0.10", "0.20", "0.30", "9999999999.99" };
    static const char *const names[] = { "name", "price", NULL };
    size_t i;
    memset(r, 0, sizeof r);
    for (i = 0; i < 4; i++) {
        r[i].n = 2;
        r[i].f[0] = "name";
        r[i].v[0] = eo_cstr(prices[i]);
        r[i].f[1] = "price";
        r[i].v[1] = eo_cstr(prices[i]);
    }
    assert_eo_ok(create(f->env, f->P, r, 4, NULL, &err), &err);
    /* 0.1 + 0.2 == 0.3 exactly */
    assert_int_equal(count(f->env, f->P, "[[\"price\", \"=\", 0.3]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"price\", \"=\", \"0.30\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"price\", \">\", \"0.15\"]]"), 3);
    assert_int_equal(count(f->env, f->P, "[[\"price\", \"in\", [\"0.1\", 0.2]]]"), 2);
    search(f->env, f->P, "[]", "price desc", -1, 0, &ids);
    assert_int_equal(ids.n, 4);
    assert_text_eq(read_text(f->env, f->P, ids.v, ids.n, names),
                   "9999999999.99|9999999999.99;0.30|0.30;0.20|0.20;0.10|0.10;");
    eo_ids_free(&ids);
}

static void test_sqlite__datetime_search_normalizes(void **state)
{
    fx *f = *state;
    trow r;
    eo_error err;
    memset(&r, 0, sizeof r);
    r.n = 2;
    r.f[0] = "name";
    r.v[0] = eo_cstr("x");
    r.f[1] = "seen_at";
    r.v[1] = eo_int(1700000000);
    assert_eo_ok(create(f->env, f->P, &r, 1, NULL, &err), &err);
    assert_int_equal(count(f->env, f->P, "[[\"seen_at\", \"=\", \"2023-11-15T00:13:20+02:00\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"seen_at\", \">\", \"2023-11-14\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"seen_at\", \"<\", \"2023-11-14T22:13:20Z\"]]"), 0);
}

static void test_sqlite__create_defaults_and_batch(void **state)
{
    fx *f = *state;
    trow r[3];
    eo_id ids[3];
    eo_error err;
    static const char *const names[] = { "id", "name", "active", "kind", NULL };
    char want[256];
    memset(r, 0, sizeof r);
    r[0].n = 1;
    r[0].f[0] = "name";
    r[0].v[0] = eo_cstr("A");
    r[1].n = 2;
    r[1].f[0] = "name";
    r[1].v[0] = eo_cstr("B");
    r[1].f[1] = "active";
    r[1].v[1] = eo_null(); /* given as null: the default does not apply */
    r[2].n = 2;
    r[2].f[0] = "name";
    r[2].v[0] = eo_cstr("C");
    r[2].f[1] = "kind";
    r[2].v[1] = eo_cstr("company");
    eo_env_reset_stats(f->env);
    assert_eo_ok(create(f->env, f->P, r, 3, ids, &err), &err);
    assert_int_equal(queries(f->env), 1); /* one batch: one prepared insert */
    snprintf(want, sizeof want, "%lld|A|true|person;%lld|B|null|person;%lld|C|true|company;",
             (long long)ids[0].num, (long long)ids[1].num, (long long)ids[2].num);
    assert_text_eq(read_text(f->env, f->P, ids, 3, names), want);
    /* "= false" also finds the record whose flag was never set */
    assert_int_equal(count(f->env, f->P, "[[\"active\", \"=\", false]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"active\", \"!=\", true]]"), 1);
}

static void test_sqlite__create_refusals(void **state)
{
    fx *f = *state;
    trow r;
    eo_error err;
    memset(&r, 0, sizeof r);
    r.n = 2;
    r.f[0] = "name";
    r.v[0] = eo_cstr("A");
    r.f[1] = "age";
    r.v[1] = eo_cstr("old");
    assert_eo_error(create(f->env, f->P, &r, 1, NULL, &err), &err, EO_EINVAL,
                    "res.partner.age: expected an integer, got text 'old'");
    r.v[1] = eo_int(200);
    assert_eo_error(create(f->env, f->P, &r, 1, NULL, &err), &err, EO_EVALIDATE,
                    "res.partner.age: 200 is more than the maximum 150");
    r.f[1] = "kind";
    r.v[1] = eo_cstr("alien");
    assert_eo_error(create(f->env, f->P, &r, 1, NULL, &err), &err, EO_EVALIDATE, "'alien' is not one of");
    r.f[1] = "id";
    r.v[1] = eo_int(7);
    assert_eo_error(create(f->env, f->P, &r, 1, NULL, &err), &err, EO_EINVAL,
                    "res.partner.id cannot be set: the id is assigned by the database");
    r.f[1] = "parent_id";
    r.v[1] = eo_int(999);
    assert_eo_error(create(f->env, f->P, &r, 1, NULL, &err), &err, EO_EVALIDATE,
                    "res.partner.parent_id: res.partner(999) does not exist");
    assert_string_equal(err.field, "parent_id");
    r.v[1] = eo_bool(1);
    assert_eo_error(create(f->env, f->P, &r, 1, NULL, &err), &err, EO_EINVAL,
                    "res.partner.parent_id: expected a record or an id of res.partner");
    r.v[1] = eo_cstr("abc");
    assert_eo_error(create(f->env, f->P, &r, 1, NULL, &err), &err, EO_EINVAL,
                    "res.partner.parent_id: text is not a valid id of res.partner");
    assert_int_equal(count(f->env, f->P, "[]"), 0);
    assert_int_equal(eo_env_txn_depth(f->env), 0);
}

static void test_sqlite__required_missing(void **state)
{
    fx *f = *state;
    trow r;
    eo_error err;
    memset(&r, 0, sizeof r);
    r.n = 1;
    r.f[0] = "email";
    r.v[0] = eo_cstr("x@y");
    assert_eo_error(create(f->env, f->P, &r, 1, NULL, &err), &err, EO_EVALIDATE,
                    "res.partner.name: required field missing");
    assert_string_equal(err.model, "res.partner");
    assert_string_equal(err.field, "name");
    r.f[0] = "name";
    r.v[0] = eo_null();
    assert_eo_error(create(f->env, f->P, &r, 1, NULL, &err), &err, EO_EVALIDATE,
                    "res.partner.name: required field missing");
    assert_int_equal(count(f->env, f->P, "[]"), 0);
}

static void test_sqlite__unique_violation(void **state)
{
    fx *f = *state;
    trow r;
    eo_error err;
    create_named(f->env, f->P, "Ann", "ann@x.org");
    memset(&r, 0, sizeof r);
    r.n = 2;
    r.f[0] = "name";
    r.v[0] = eo_cstr("Other");
    r.f[1] = "email";
    r.v[1] = eo_cstr("ann@x.org");
    assert_eo_error(create(f->env, f->P, &r, 1, NULL, &err), &err, EO_ECONFLICT,
                    "res.partner.email: duplicate value 'ann@x.org': it must be unique");
    assert_string_equal(err.model, "res.partner");
    assert_string_equal(err.field, "email");
    assert_int_equal(err.domain, EO_DOMAIN_SQLITE);
    assert_int_equal(count(f->env, f->P, "[]"), 1);
    /* NULLs do not collide */
    create_named(f->env, f->P, "N1", NULL);
    create_named(f->env, f->P, "N2", NULL);
    assert_int_equal(count(f->env, f->P, "[[\"email\", \"=\", null]]"), 2);
}

static void test_sqlite__failed_batch_leaves_table_unchanged(void **state)
{
    fx *f = *state;
    trow r[3];
    eo_error err;
    eo_ids ids = { 0 };
    create_named(f->env, f->P, "Before", "before@x.org");
    assert_int_equal(count(f->env, f->P, "[]"), 1);
    memset(r, 0, sizeof r);
    r[0].n = r[1].n = r[2].n = 2;
    r[0].f[0] = r[1].f[0] = r[2].f[0] = "name";
    r[0].f[1] = r[1].f[1] = r[2].f[1] = "email";
    r[0].v[0] = eo_cstr("R1");
    r[0].v[1] = eo_cstr("r1@x.org");
    r[1].v[0] = eo_cstr("R2");
    r[1].v[1] = eo_cstr("r2@x.org");
    /* the 3rd row is invalid */
    r[2].v[0] = eo_cstr("this name is much longer than thirty-two characters");
    r[2].v[1] = eo_cstr("r3@x.org");
    assert_eo_error(create(f->env, f->P, r, 3, NULL, &err), &err, EO_EVALIDATE,
                    "more than size 32 (record 3 of 3)");
    assert_int_equal(count(f->env, f->P, "[]"), 1);
    /* the 3rd row duplicates the 1st: the database refuses, all is undone */
    r[2].v[0] = eo_cstr("R3");
    r[2].v[1] = eo_cstr("r1@x.org");
    assert_eo_error(create(f->env, f->P, r, 3, NULL, &err), &err, EO_ECONFLICT,
                    "res.partner.email: duplicate value 'r1@x.org'");
    assert_int_equal(count(f->env, f->P, "[]"), 1);
    /* the 2nd duplicates a stored record */
    r[1].v[1] = eo_cstr("before@x.org");
    r[2].v[1] = eo_cstr("r3@x.org");
    assert_eo_error(create(f->env, f->P, r, 3, NULL, &err), &err, EO_ECONFLICT, "duplicate value 'before@x.org'");
    assert_int_equal(count(f->env, f->P, "[]"), 1);
    search(f->env, f->P, "[]", NULL, -1, 0, &ids);
    assert_int_equal(ids.n, 1);
    eo_ids_free(&ids);
    assert_int_equal(eo_env_txn_depth(f->env), 0);
    /* and the same batch, fixed, goes in whole */
    r[1].v[1] = eo_cstr("r2@x.org");
    assert_eo_ok(create(f->env, f->P, r, 3, NULL, &err), &err);
    assert_int_equal(count(f->env, f->P, "[]"), 4);
}

static int chunk_cb(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    fx *f = payload;
    /* values are Borrowed until eo_orm_create returns: one buffer per row */
    static char names[2500][16];
    (void)cap;
    (void)err;
    snprintf(names[i], sizeof names[i], "c%zu", i);
    out[0].field = th_field(f->P, "name");
    out[0].value = eo_cstr(names[i]);
    out[1].field = th_field(f->P, "age");
    out[1].value = eo_int((int64_t)(i % 150));
    *n = 2;
    return EO_OK;
}

static size_t bad_row = (size_t)-1;

static int chunk_bad_cb(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    int rc = chunk_cb(payload, i, out, cap, n, err);
    if (i == bad_row)
        out[1].value = eo_int(-5); /* below the minimum */
    return rc;
}

static void test_sqlite__create_across_chunks(void **state)
{
    fx *f = *state;
    eo_id *ids = calloc(2500, sizeof *ids);
    eo_error err;
    eo_ids found = { 0 };
    size_t i;
    /* a failure in the second chunk undoes the first */
    bad_row = 2400;
    assert_eo_error(eo_orm_create(f->env, f->P, 2500, chunk_bad_cb, f, 0, ids, &err), &err, EO_EVALIDATE,
                    "res.partner.age: -5 is less than the minimum 0 (record 2401 of 2500)");
    assert_int_equal(count(f->env, f->P, "[]"), 0);
    assert_int_equal(eo_env_txn_depth(f->env), 0);
    assert_eo_ok(eo_orm_create(f->env, f->P, 2500, chunk_cb, f, 0, ids, &err), &err);
    assert_int_equal(count(f->env, f->P, "[]"), 2500);
    for (i = 1; i < 2500; i++)
        assert_true(ids[i].num > ids[i - 1].num);
    assert_eo_ok(eo_orm_exists(f->env, f->P, ids, 2500, &found, &err), &err);
    assert_int_equal(found.n, 2500);
    eo_ids_free(&found);
    {
        static const char *const names[] = { "name", "age", NULL };
        assert_text_eq(read_text(f->env, f->P, &ids[2100], 1, names), "c2100|0;");
    }
    free(ids);
}

/* ---- injection ----------------------------------------------------- */

static void test_sqlite__injection_stored_and_matched_literally(void **state)
{
    fx *f = *state;
    const char *payload = "x'); DROP TABLE res_partner; --";
    eo_error err;
    eo_ids ids = { 0 };
    eo_kv kv;
    static const char *const names[] = { "name", NULL };
    create_named(f->env, f->P, payload, "' OR '1'='1");
    create_named(f->env, f->P, "100%_sure", NULL);
    create_named(f->env, f->P, "100 sure", NULL);
    create_named(f->env, f->P, "100Xxsure", NULL);
    create_named(f->env, f->P, "a*b?c", NULL);
    create_named(f->env, f->P, "aXbYc", NULL);
    /* the table is still there and the text is intact */
    assert_int_equal(count(f->env, f->P, "[]"), 6);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"=\", \"x'); DROP TABLE res_partner; --\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"like\", \"DROP TABLE\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"ilike\", \"drop table res_partner; --\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"email\", \"=\", \"' OR '1'='1\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"email\", \"!=\", \"' OR '1'='1\"]]"), 5);
    search(f->env, f->P, "[[\"name\", \"=\", \"x'); DROP TABLE res_partner; --\"]]", NULL, -1, 0, &ids);
    assert_int_equal(ids.n, 1);
    assert_text_eq(read_text(f->env, f->P, ids.v, 1, names), "x'); DROP TABLE res_partner; --;");
    /* like is Odoo's: % and _ are wildcards, GLOB's * ? are literal... */
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"like\", \"100%sure\"]]"), 3);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"like\", \"a_b\"]]"), 2);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"ilike\", \"0%_S\"]]"), 3);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"like\", \"*b?\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"not like\", \"%\"]]"), 0);
    /* ...and a backslash quotes them */
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"like\", \"\\\\%\\\\_\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"ilike\", \"0\\\\%\\\\_S\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"not like\", \"\\\\%\"]]"), 5);
    /* =like takes a pattern */
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"=like\", \"100%\"]]"), 3);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"=like\", \"100_sure\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"=like\", \"a*%\"]]"), 1);
    /* a payload written over a record stays data */
    kv.field = th_field(f->P, "email");
    kv.value = eo_cstr("'; UPDATE res_partner SET name='pwned'; --");
    assert_eo_ok(eo_orm_write(f->env, f->P, ids.v, 1, &kv, 1, 0, &err), &err);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"=\", \"pwned\"]]"), 0);
    assert_int_equal(count(f->env, f->P, "[[\"email\", \"like\", \"UPDATE res_partner\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"email\", \"=\", \"' OR '1'='1\"]]"), 0);
    eo_ids_free(&ids);
}

static void test_sqlite__injection_in_long_list(void **state)
{
    fx *f = *state;
    eo_buf j = EO_BUF_INIT;
    int i;
    create_named(f->env, f->P, "x\"]); DROP TABLE res_partner; --", NULL);
    create_named(f->env, f->P, "plain", NULL);
    eo_buf__puts(&j, "[[\"name\", \"in\", [\"x\\\"]); DROP TABLE res_partner; --\"");
    for (i = 0; i < 40; i++)
        eo_buf__printf(&j, ", \"v%d\"", i);
    eo_buf__puts(&j, "]]]");
    assert_int_equal(count(f->env, f->P, j.p), 1);
    eo_buf__free(&j);
    assert_int_equal(count(f->env, f->P, "[]"), 2);
}

/* ---- search -------------------------------------------------------- */

static void make_people(fx *f, eo_id *ids)
{
    static const char *const names[] = { "Ann", "Bob", "Cy", "Di", "Ed" };
    static const int ages[] = { 31, 17, 45, -1, 31 };
    trow r[5];
    eo_error err;
    size_t i;
    memset(r, 0, sizeof r);
    for (i = 0; i < 5; i++) {
        r[i].f[r[i].n] = "name";
        r[i].v[r[i].n++] = eo_cstr(names[i]);
        if (ages[i] >= 0) {
            r[i].f[r[i].n] = "age";
            r[i].v[r[i].n++] = eo_int(ages[i]);
        }
        r[i].f[r[i].n] = "kind";
        r[i].v[r[i].n++] = eo_cstr(i == 2 ? "company" : "person");
    }
    assert_eo_ok(create(f->env, f->P, r, 5, ids, &err), &err);
}

static void test_sqlite__search_order_limit_offset(void **state)
{
    fx *f = *state;
    eo_id ids[5];
    eo_ids out = { 0 };
    static const char *const names[] = { "name", NULL };
    make_people(f, ids);
    search(f->env, f->P, "[[\"age\", \">\", 18]]", "age desc, name", -1, 0, &out);
    assert_text_eq(read_text(f->env, f->P, out.v, out.n, names), "Cy;Ann;Ed;");
    out.n = 0;
    /* NULL sorts lowest: first ascending, last descending */
    search(f->env, f->P, "[]", "age, name", -1, 0, &out);
    assert_text_eq(read_text(f->env, f->P, out.v, out.n, names), "Di;Bob;Ann;Ed;Cy;");
    out.n = 0;
    search(f->env, f->P, "[]", "age desc, name desc", -1, 0, &out);
    assert_text_eq(read_text(f->env, f->P, out.v, out.n, names), "Cy;Ed;Ann;Bob;Di;");
    out.n = 0;
    search(f->env, f->P, "[]", "name", 2, 1, &out);
    assert_text_eq(read_text(f->env, f->P, out.v, out.n, names), "Bob;Cy;");
    out.n = 0;
    search(f->env, f->P, "[]", "name", -1, 3, &out);
    assert_text_eq(read_text(f->env, f->P, out.v, out.n, names), "Di;Ed;");
    out.n = 0;
    search(f->env, f->P, "[]", NULL, 0, 0, &out); /* limit 0: nothing */
    assert_int_equal(out.n, 0);
    /* negation matches NULL ages */
    search(f->env, f->P, "[\"!\", [\"age\", \">\", 18]]", "name", -1, 0, &out);
    assert_text_eq(read_text(f->env, f->P, out.v, out.n, names), "Bob;Di;");
    out.n = 0;
    search(f->env, f->P, "[[\"age\", \"!=\", 31]]", "name", -1, 0, &out);
    assert_text_eq(read_text(f->env, f->P, out.v, out.n, names), "Bob;Cy;Di;");
    out.n = 0;
    search(f->env, f->P, "[\"|\", [\"kind\", \"=\", \"company\"], [\"age\", \"=\", null]]", "name", -1, 0, &out);
    assert_text_eq(read_text(f->env, f->P, out.v, out.n, names), "Cy;Di;");
    eo_ids_free(&out);
    assert_int_equal(count(f->env, f->P, "[[\"age\", \"in\", [31, null]]]"), 3);
    assert_int_equal(count(f->env, f->P, "[[\"age\", \"not in\", [31, null]]]"), 2);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"ilike\", \"AN\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"like\", \"AN\"]]"), 0);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"=ilike\", \"a%\"]]"), 1);
    assert_int_equal(count(f->env, f->P, "[\"!\", [\"name\", \"=like\", \"A%\"]]"), 4);
}

static void test_sqlite__search_errors(void **state)
{
    fx *f = *state;
    eo_ids out = { 0 };
    eo_domain *d;
    eo_error err;
    int64_t n;
    d = dom("[[\"nope\", \"=\", 1]]");
    assert_eo_error(eo_orm_search(f->env, f->P, d, NULL, -1, 0, &out, &err), &err, EO_EINVAL,
                    "res.partner: no field 'nope'");
    eo_domain_free(d);
    d = dom("[]");
    assert_eo_error(eo_orm_search(f->env, f->P, d, "nope", -1, 0, &out, &err), &err, EO_EINVAL,
                    "res.partner: cannot order by 'nope': no such field");
    assert_eo_error(eo_orm_search(f->env, f->P, d, NULL, -1, -3, &out, &err), &err, EO_EINVAL,
                    "res.partner: limit and offset must not be negative");
    eo_domain_free(d);
    d = dom("[[\"age\", \"like\", \"3\"]]");
    assert_eo_error(eo_orm_search_count(f->env, f->P, d, &n, &err), &err, EO_EINVAL,
                    "operator 'like' does not apply to Integer field 'age'");
    eo_domain_free(d);
    assert_int_equal(out.n, 0);
    eo_ids_free(&out);
}

static void test_sqlite__exists(void **state)
{
    fx *f = *state;
    eo_id ids[5], probe[4];
    eo_ids out = { 0 };
    eo_error err;
    make_people(f, ids);
    probe[0] = ids[3];
    probe[1] = eo_id_num(9999);
    probe[2] = ids[0];
    probe[3] = eo_id_num(-1);
    assert_eo_ok(eo_orm_exists(f->env, f->P, probe, 4, &out, &err), &err);
    assert_int_equal(out.n, 2);
    assert_true(eo_id_equal(out.v[0], ids[3])); /* same order */
    assert_true(eo_id_equal(out.v[1], ids[0]));
    eo_ids_free(&out);
    assert_eo_ok(eo_orm_exists(f->env, f->P, probe, 0, &out, &err), &err);
    assert_int_equal(out.n, 0);
}

static void test_sqlite__search_rows_and_read_rows(void **state)
{
    fx *f = *state;
    eo_id ids[5], probe[3];
    eo_buf b = EO_BUF_INIT;
    eo_error err;
    eo_domain *d = dom("[[\"kind\", \"=\", \"person\"]]");
    const eo_field *fields[2];
    static const char *const names[] = { "name", "age", NULL };
    fields[0] = th_field(f->P, "name");
    fields[1] = th_field(f->P, "age");
    make_people(f, ids);
    assert_eo_ok(eo_orm_search_rows(f->env, f->P, d, fields, 2, "name desc", 3, 0, collect_row, &b, &err), &err);
    assert_string_equal(b.p, "Ed|31;Di|null;Bob|17;");
    eo_buf__free(&b);
    eo_domain_free(d);
    /* read_rows keeps the order of ids and skips records that do not exist */
    probe[0] = ids[4];
    probe[1] = eo_id_num(12345);
    probe[2] = ids[0];
    assert_text_eq(read_text(f->env, f->P, probe, 3, names), "Ed|31;Ann|31;");
}

static void test_sqlite__get_errors(void **state)
{
    fx *f = *state;
    eo_id ids[5];
    const eo_value *v = (const eo_value *)1;
    eo_error err;
    eo_field_spec s;
    eo_field *comp = NULL;
    make_people(f, ids);
    assert_eo_error(eo_orm_get(f->env, f->P, eo_id_num(777), th_field(f->P, "name"), NULL, 0, 0, &v, &err), &err,
                    EO_ENOTFOUND, "res.partner(777) does not exist (deleted?)");
    assert_null(v);
    /* a non-stored computed field that was never computed */
    memset(&s, 0, sizeof s);
    s.name = "label";
    s.type = EO_FT_CHAR;
    s.flags = EO_FF_COMPUTED;
    assert_eo_ok(eo_model_add_field(&comp, f->P, &s, &err), &err);
    assert_eo_error(eo_orm_get(f->env, f->P, ids[0], comp, NULL, 0, 0, &v, &err), &err, EO_ENOTFOUND,
                    "res.partner.label is not stored and not computed yet");
    /* cache_set makes it readable without a query */
    {
        eo_value lv = eo_cstr("computed!");
        uint64_t q0;
        assert_eo_ok(eo_orm_cache_set(f->env, f->P, ids[0], comp, &lv, &err), &err);
        assert_true(eo_orm_cached(f->env, f->P, ids[0], comp));
        q0 = queries(f->env);
        assert_eo_ok(eo_orm_get(f->env, f->P, ids[0], comp, NULL, 0, 0, &v, &err), &err);
        assert_string_equal(v->u.s.p, "computed!");
        assert_int_equal(queries(f->env), q0);
        assert_non_null(eo_orm_peek(f->env, f->P, ids[0], comp));
        eo_orm_invalidate(f->env, f->P, &ids[0], 1, comp);
        assert_null(eo_orm_peek(f->env, f->P, ids[0], comp));
    }
}

/* ---- query counts -------------------------------------------------- */

static void test_sqlite__false_domain_sends_no_query(void **state)
{
    fx *f = *state;
    eo_ids out = { 0 };
    eo_domain *d;
    eo_error err;
    int64_t n = -1;
    eo_buf b = EO_BUF_INIT;
    char *plan = NULL;
    create_named(f->env, f->P, "Ann", NULL);
    eo_env_reset_stats(f->env);
    d = dom("[[\"age\", \"=\", 1], [\"age\", \"=\", 2]]");
    assert_eo_ok(eo_orm_search(f->env, f->P, d, NULL, -1, 0, &out, &err), &err);
    assert_eo_ok(eo_orm_search_count(f->env, f->P, d, &n, &err), &err);
    assert_eo_ok(eo_orm_search_rows(f->env, f->P, d, NULL, 0, NULL, -1, 0, collect_row, &b, &err), &err);
    assert_eo_ok(eo_orm_explain(f->env, f->P, d, NULL, -1, 0, &plan, &err), &err);
    assert_non_null(strstr(plan, "plan: the domain can match nothing; no query is sent"));
    eo_free(plan);
    eo_domain_free(d);
    d = dom("[[\"name\", \"in\", []]]");
    assert_eo_ok(eo_orm_search(f->env, f->P, d, NULL, -1, 0, &out, &err), &err);
    eo_domain_free(d);
    assert_int_equal(out.n, 0);
    assert_int_equal(n, 0);
    assert_null(b.p);
    assert_int_equal(queries(f->env), 0);
    {
        eo_stats st;
        size_t k;
        eo_env_stats(f->env, &st);
        for (k = 0; k < EO_Q__COUNT; k++)
            assert_int_equal(st.by_kind[k], 0);
    }
    eo_ids_free(&out);
}

static void create_many(fx *f, size_t n, eo_ids *ids)
{
    trow *r = calloc(n, sizeof *r);
    char (*names)[32] = calloc(n, sizeof *names);
    eo_id *out = calloc(n, sizeof *out);
    rows_src src;
    eo_error err;
    size_t i;
    for (i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "p%04zu", i);
        r[i].n = 2;
        r[i].f[0] = "name";
        r[i].v[0] = eo_cstr(names[i]);
        r[i].f[1] = "age";
        r[i].v[1] = eo_int((int64_t)(i % 100));
    }
    src.m = f->P;
    src.rows = r;
    assert_eo_ok(eo_orm_create(f->env, f->P, n, row_cb, &src, 0, out, &err), &err);
    for (i = 0; ids && i < n; i++)
        eo_ids_push(ids, out[i]);
    free(r);
    free(names);
    free(out);
}

static void test_sqlite__prefetch_one_query_for_500(void **state)
{
    fx *f = *state;
    eo_ids ids = { 0 };
    eo_error err;
    eo_stats st;
    const eo_field *name = th_field(f->P, "name"), *age = th_field(f->P, "age");
    size_t i;
    create_many(f, 500, NULL);
    eo_env_invalidate_all(f->env);
    eo_env_reset_stats(f->env);
    search(f->env, f->P, "[]", "id", -1, 0, &ids);
    assert_int_equal(ids.n, 500);
    assert_int_equal(queries(f->env), 1);
    for (i = 0; i < ids.n; i++) {
        const eo_value *v = NULL;
        char want[32];
        assert_eo_ok(eo_orm_get(f->env, f->P, ids.v[i], name, ids.v, ids.n, i, &v, &err), &err);
        snprintf(want, sizeof want, "p%04zu", i);
        assert_int_equal(v->type, EO_VTEXT);
        assert_string_equal(v->u.s.p, want);
    }
    eo_env_stats(f->env, &st);
    assert_int_equal(st.queries, 2); /* the search and one prefetch */
    assert_int_equal(st.prefetches, 1);
    assert_int_equal(st.store_misses, 1);
    assert_int_equal(st.store_hits, 499);
    assert_int_equal(st.store_records, 500);
    /* another prefetched field is already there */
    for (i = 0; i < ids.n; i++) {
        const eo_value *v = NULL;
        assert_eo_ok(eo_orm_get(f->env, f->P, ids.v[i], age, ids.v, ids.n, i, &v, &err), &err);
        assert_int_equal(v->u.i, (int64_t)(i % 100));
    }
    assert_int_equal(queries(f->env), 2);
    eo_ids_free(&ids);
}

static void test_sqlite__prefetch_max_bounds_batches(void **state)
{
    fx *f = *state;
    eo_env *env = NULL;
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_ids ids = { 0 };
    eo_error err;
    char url[700];
    size_t i;
    fx g = *f;
    snprintf(url, sizeof url, "sqlite://%s/pf.db", f->dir);
    cfg.database_url = url;
    cfg.prefetch_max = 100;
    assert_eo_ok(eo_env_open(&env, f->reg, &cfg, &err), &err);
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    g.env = env;
    create_many(&g, 500, &ids);
    eo_env_invalidate_all(env);
    eo_env_reset_stats(env);
    for (i = 0; i < ids.n; i++) {
        const eo_value *v = NULL;
        assert_eo_ok(eo_orm_get(env, f->P, ids.v[i], th_field(f->P, "name"), ids.v, ids.n, i, &v, &err), &err);
    }
    assert_int_equal(queries(env), 5); /* 500 / prefetch_max */
    /* read_rows goes by prefetch_max too */
    eo_env_invalidate_all(env);
    eo_env_reset_stats(env);
    {
        const eo_field *fl = th_field(f->P, "age");
        eo_buf b = EO_BUF_INIT;
        assert_eo_ok(eo_orm_read_rows(env, f->P, ids.v, ids.n, &fl, 1, collect_row, &b, &err), &err);
        assert_int_equal(b.len, 500 * 3 - 50); /* ages 0..9 (50 of them) print in 2 bytes, the rest in 3 */
        eo_buf__free(&b);
    }
    eo_ids_free(&ids);
    assert_int_equal(queries(env), 5);
    eo_env_free(env);
}

/* ---- write and unlink ---------------------------------------------- */

static void test_sqlite__write(void **state)
{
    fx *f = *state;
    eo_id ids[5];
    eo_kv kv[2];
    eo_error err;
    static const char *const names[] = { "name", "age", NULL };
    make_people(f, ids);
    kv[0].field = th_field(f->P, "age");
    kv[0].value = eo_cstr("50");
    kv[1].field = th_field(f->P, "email");
    kv[1].value = eo_null();
    eo_env_reset_stats(f->env);
    assert_eo_ok(eo_orm_write(f->env, f->P, ids, 2, kv, 2, 0, &err), &err);
    assert_int_equal(queries(f->env), 1);
    /* the store holds the new values: no query to read them back */
    {
        const eo_value *v = NULL;
        assert_eo_ok(eo_orm_get(f->env, f->P, ids[1], kv[0].field, ids, 2, 1, &v, &err), &err);
        assert_int_equal(v->type, EO_VINT);
        assert_int_equal(v->u.i, 50);
        assert_int_equal(queries(f->env), 1);
    }
    eo_env_invalidate_all(f->env);
    assert_text_eq(read_text(f->env, f->P, ids, 3, names), "Ann|50;Bob|50;Cy|45;");
}

static void test_sqlite__write_errors(void **state)
{
    fx *f = *state;
    eo_id ids[5], ghost[2];
    eo_kv kv;
    eo_error err;
    static const char *const names[] = { "name", "email", "age", NULL };
    make_people(f, ids);
    kv.field = th_field(f->P, "email");
    kv.value = eo_cstr("dup@x.org");
    assert_eo_ok(eo_orm_write(f->env, f->P, &ids[0], 1, &kv, 1, 0, &err), &err);
    assert_eo_error(eo_orm_write(f->env, f->P, &ids[1], 1, &kv, 1, 0, &err), &err, EO_ECONFLICT,
                    "res.partner.email: duplicate value 'dup@x.org': it must be unique");
    assert_string_equal(err.field, "email");
    kv.field = th_field(f->P, "name");
    kv.value = eo_null();
    assert_eo_error(eo_orm_write(f->env, f->P, ids, 1, &kv, 1, 0, &err), &err, EO_EVALIDATE,
                    "res.partner.name: required field cannot be emptied");
    kv.field = th_field(f->P, "age");
    kv.value = eo_cstr("x");
    assert_eo_error(eo_orm_write(f->env, f->P, ids, 1, &kv, 1, 0, &err), &err, EO_EINVAL,
                    "res.partner.age: expected an integer, got text 'x'");
    kv.field = th_field(f->P, "id");
    kv.value = eo_int(3);
    assert_eo_error(eo_orm_write(f->env, f->P, ids, 1, &kv, 1, 0, &err), &err, EO_EINVAL,
                    "res.partner.id cannot be set");
    kv.field = th_field(f->P, "parent_id");
    kv.value = eo_int(4242);
    assert_eo_error(eo_orm_write(f->env, f->P, ids, 1, &kv, 1, 0, &err), &err, EO_EVALIDATE,
                    "res.partner.parent_id: res.partner(4242) does not exist");
    /* records that do not exist: nothing is written */
    ghost[0] = ids[2];
    ghost[1] = eo_id_num(5555);
    kv.field = th_field(f->P, "age");
    kv.value = eo_int(99);
    assert_eo_error(eo_orm_write(f->env, f->P, ghost, 2, &kv, 1, 0, &err), &err, EO_ENOTFOUND,
                    "res.partner: 1 of 2 records to write do not exist (deleted?)");
    eo_env_invalidate_all(f->env);
    assert_text_eq(read_text(f->env, f->P, ids, 3, names), "Ann|dup@x.org|31;Bob|null|17;Cy|null|45;");
    assert_int_equal(eo_env_txn_depth(f->env), 0);
}

static void test_sqlite__unlink(void **state)
{
    fx *f = *state;
    eo_id ids[5];
    eo_error err;
    const eo_value *v = NULL;
    make_people(f, ids);
    /* cache a value, then delete: the store forgets it */
    assert_eo_ok(eo_orm_get(f->env, f->P, ids[1], th_field(f->P, "name"), ids, 5, 1, &v, &err), &err);
    assert_eo_ok(eo_orm_unlink(f->env, f->P, &ids[1], 2, &err), &err);
    assert_int_equal(count(f->env, f->P, "[]"), 3);
    assert_null(eo_orm_peek(f->env, f->P, ids[1], th_field(f->P, "name")));
    assert_eo_error(eo_orm_get(f->env, f->P, ids[1], th_field(f->P, "name"), NULL, 0, 0, &v, &err), &err,
                    EO_ENOTFOUND, "does not exist");
    /* unlinking nothing or a missing id is harmless */
    assert_eo_ok(eo_orm_unlink(f->env, f->P, ids, 0, &err), &err);
    assert_eo_ok(eo_orm_unlink(f->env, f->P, &ids[1], 1, &err), &err);
    assert_int_equal(count(f->env, f->P, "[]"), 3);
}

/* res.node: name, parent_id Many2one res.node with the given ondelete. */
static eo_registry *node_registry(int ondelete)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    eo_field_spec s;
    eo_error err;
    if (eo_registry_new(&reg, &err) != EO_OK || eo_registry_add_model(&m, reg, "res.node", &err) != EO_OK)
        fail_msg("%s", err.msg);
    memset(&s, 0, sizeof s);
    s.name = "name";
    s.type = EO_FT_CHAR;
    if (eo_model_add_field(NULL, m, &s, &err) != EO_OK)
        fail_msg("%s", err.msg);
    memset(&s, 0, sizeof s);
    s.name = "parent_id";
    s.type = EO_FT_MANY2ONE;
    s.comodel = "res.node";
    s.ondelete = ondelete;
    if (eo_model_add_field(NULL, m, &s, &err) != EO_OK || eo_registry_resolve(reg, &err) != EO_OK)
        fail_msg("%s", err.msg);
    return reg;
}

/* root(1) <- a(2) <- a1(4); root <- b(3); other(5). */
static eo_env *node_tree(eo_registry *reg, eo_id *ids)
{
    eo_env *env = NULL;
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_model *m = eo_registry_find(reg, "res.node");
    eo_error err;
    trow r;
    static const char *const names[] = { "root", "a", "b", "a1", "other" };
    static const int parent[] = { -1, 0, 0, 1, -1 };
    size_t i;
    cfg.database_url = "sqlite::memory:";
    assert_eo_ok(eo_env_open(&env, reg, &cfg, &err), &err);
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    for (i = 0; i < 5; i++) {
        memset(&r, 0, sizeof r);
        r.f[r.n] = "name";
        r.v[r.n++] = eo_cstr(names[i]);
        if (parent[i] >= 0) {
            r.f[r.n] = "parent_id";
            r.v[r.n++] = eo_int(ids[parent[i]].num);
        }
        assert_eo_ok(create(env, m, &r, 1, &ids[i], &err), &err);
    }
    return env;
}

static void test_sqlite__ondelete_restrict(void **state)
{
    eo_registry *reg = node_registry(EO_ONDELETE_RESTRICT);
    eo_model *m = eo_registry_find(reg, "res.node");
    eo_id ids[5];
    eo_env *env = node_tree(reg, ids);
    eo_error err;
    char want[200];
    (void)state;
    snprintf(want, sizeof want,
             "cannot delete res.node records: 2 res.node records refer to them through parent_id "
             "(ondelete=restrict), e.g. res.node(%lld)", (long long)ids[1].num);
    assert_eo_error(eo_orm_unlink(env, m, &ids[0], 1, &err), &err, EO_ECONFLICT, want);
    assert_string_equal(err.model, "res.node");
    assert_string_equal(err.field, "parent_id");
    assert_int_equal(count(env, m, "[]"), 5);
    assert_int_equal(eo_env_txn_depth(env), 0);
    /* leaves can go */
    assert_eo_ok(eo_orm_unlink(env, m, &ids[3], 1, &err), &err);
    assert_eo_ok(eo_orm_unlink(env, m, &ids[4], 1, &err), &err);
    assert_int_equal(count(env, m, "[]"), 3);
    eo_env_free(env);
    eo_registry_free(reg);
}

static void test_sqlite__ondelete_cascade(void **state)
{
    eo_registry *reg = node_registry(EO_ONDELETE_CASCADE);
    eo_model *m = eo_registry_find(reg, "res.node");
    eo_id ids[5];
    eo_env *env = node_tree(reg, ids);
    eo_error err;
    eo_ids left = { 0 };
    static const char *const names[] = { "name", NULL };
    (void)state;
    assert_eo_ok(eo_orm_unlink(env, m, &ids[0], 1, &err), &err);
    search(env, m, "[]", NULL, -1, 0, &left);
    assert_int_equal(left.n, 1);
    assert_text_eq(read_text(env, m, left.v, 1, names), "other;");
    eo_ids_free(&left);
    eo_env_free(env);
    eo_registry_free(reg);
}

static void test_sqlite__ondelete_set_null(void **state)
{
    eo_registry *reg = node_registry(EO_ONDELETE_SET_NULL);
    eo_model *m = eo_registry_find(reg, "res.node");
    eo_id ids[5];
    eo_env *env = node_tree(reg, ids);
    eo_error err;
    static const char *const names[] = { "name", "parent_id", NULL };
    char want[100];
    const eo_value *v = NULL;
    (void)state;
    /* a cached parent must not survive the delete either */
    assert_eo_ok(eo_orm_get(env, m, ids[1], th_field(m, "parent_id"), ids, 5, 1, &v, &err), &err);
    assert_int_equal(v->u.i, ids[0].num);
    assert_eo_ok(eo_orm_unlink(env, m, &ids[0], 1, &err), &err);
    assert_int_equal(count(env, m, "[]"), 4);
    snprintf(want, sizeof want, "a|null;b|null;a1|%lld;", (long long)ids[1].num);
    assert_text_eq(read_text(env, m, &ids[1], 3, names), want);
    eo_env_invalidate_all(env);
    assert_text_eq(read_text(env, m, &ids[1], 3, names), want);
    eo_env_free(env);
    eo_registry_free(reg);
}

static void test_sqlite__child_of_parent_of(void **state)
{
    eo_registry *reg = node_registry(EO_ONDELETE_SET_NULL);
    eo_model *m = eo_registry_find(reg, "res.node");
    eo_id ids[5];
    eo_env *env = node_tree(reg, ids);
    eo_ids out = { 0 };
    char j[200];
    static const char *const names[] = { "name", NULL };
    (void)state;
    snprintf(j, sizeof j, "[[\"id\", \"child_of\", %lld]]", (long long)ids[0].num);
    search(env, m, j, "name", -1, 0, &out);
    assert_text_eq(read_text(env, m, out.v, out.n, names), "a;a1;b;root;");
    out.n = 0;
    snprintf(j, sizeof j, "[[\"id\", \"parent_of\", %lld]]", (long long)ids[3].num);
    search(env, m, j, "name", -1, 0, &out);
    assert_text_eq(read_text(env, m, out.v, out.n, names), "a;a1;root;");
    out.n = 0;
    snprintf(j, sizeof j, "[\"!\", [\"id\", \"child_of\", %lld]]", (long long)ids[1].num);
    search(env, m, j, "name", -1, 0, &out);
    assert_text_eq(read_text(env, m, out.v, out.n, names), "b;other;root;");
    eo_ids_free(&out);
    eo_env_free(env);
    eo_registry_free(reg);
}

/* ---- transactions -------------------------------------------------- */

static void test_sqlite__transaction_commit_and_rollback(void **state)
{
    fx *f = *state;
    eo_error err;
    assert_eo_ok(eo_env_begin(f->env, EO_ISO_DEFAULT, &err), &err);
    assert_int_equal(eo_env_txn_depth(f->env), 1);
    create_named(f->env, f->P, "Kept", NULL);
    assert_eo_ok(eo_env_commit(f->env, &err), &err);
    assert_int_equal(eo_env_txn_depth(f->env), 0);
    assert_int_equal(count(f->env, f->P, "[]"), 1);
    assert_eo_ok(eo_env_begin(f->env, EO_ISO_SERIALIZABLE, &err), &err);
    create_named(f->env, f->P, "Gone", NULL);
    assert_int_equal(count(f->env, f->P, "[]"), 2);
    assert_eo_ok(eo_env_rollback(f->env, &err), &err);
    assert_int_equal(eo_env_txn_depth(f->env), 0);
    assert_int_equal(count(f->env, f->P, "[]"), 1);
    assert_int_equal(count(f->env, f->P, "[[\"name\", \"=\", \"Gone\"]]"), 0);
}

static void test_sqlite__nested_savepoints(void **state)
{
    fx *f = *state;
    eo_error err;
    trow bad;
    static const char *const names[] = { "name", NULL };
    eo_ids out = { 0 };
    assert_eo_ok(eo_env_begin(f->env, EO_ISO_DEFAULT, &err), &err);
    create_named(f->env, f->P, "Outer", NULL);
    assert_eo_ok(eo_env_begin(f->env, EO_ISO_DEFAULT, &err), &err);
    assert_int_equal(eo_env_txn_depth(f->env), 2);
    create_named(f->env, f->P, "Inner", NULL);
    assert_eo_ok(eo_env_rollback(f->env, &err), &err); /* inner only */
    assert_int_equal(eo_env_txn_depth(f->env), 1);
    /* a failed create inside the transaction undoes only itself */
    memset(&bad, 0, sizeof bad);
    bad.n = 1;
    bad.f[0] = "age";
    bad.v[0] = eo_int(3);
    assert_eo_error(create(f->env, f->P, &bad, 1, NULL, &err), &err, EO_EVALIDATE, "required field missing");
    assert_int_equal(eo_env_txn_depth(f->env), 1);
    assert_eo_ok(eo_env_begin(f->env, EO_ISO_DEFAULT, &err), &err);
    create_named(f->env, f->P, "Inner2", NULL);
    assert_eo_ok(eo_env_commit(f->env, &err), &err); /* RELEASE */
    assert_eo_ok(eo_env_commit(f->env, &err), &err); /* COMMIT */
    assert_int_equal(eo_env_txn_depth(f->env), 0);
    search(f->env, f->P, "[]", "name", -1, 0, &out);
    assert_text_eq(read_text(f->env, f->P, out.v, out.n, names), "Inner2;Outer;");
    eo_ids_free(&out);
}

static void test_sqlite__transaction_state_errors(void **state)
{
    fx *f = *state;
    eo_error err;
    assert_eo_error(eo_env_commit(f->env, &err), &err, EO_ETXNSTATE, "commit outside a transaction");
    assert_eo_error(eo_env_rollback(f->env, &err), &err, EO_ETXNSTATE, "rollback outside a transaction");
    assert_eo_ok(eo_env_begin(f->env, EO_ISO_DEFAULT, &err), &err);
    assert_eo_error(eo_env_begin(f->env, EO_ISO_SERIALIZABLE, &err), &err, EO_ETXNSTATE,
                    "an isolation level can only be chosen for the outermost transaction");
    assert_int_equal(eo_env_txn_depth(f->env), 1);
    assert_eo_ok(eo_env_rollback(f->env, &err), &err);
}

static void test_sqlite__rollback_clears_store(void **state)
{
    fx *f = *state;
    eo_id id = create_named(f->env, f->P, "Ann", NULL);
    eo_kv kv;
    eo_error err;
    const eo_value *v = NULL;
    assert_eo_ok(eo_env_begin(f->env, EO_ISO_DEFAULT, &err), &err);
    kv.field = th_field(f->P, "name");
    kv.value = eo_cstr("Changed");
    assert_eo_ok(eo_orm_write(f->env, f->P, &id, 1, &kv, 1, 0, &err), &err);
    assert_non_null(eo_orm_peek(f->env, f->P, id, kv.field));
    assert_eo_ok(eo_env_rollback(f->env, &err), &err);
    assert_null(eo_orm_peek(f->env, f->P, id, kv.field));
    assert_eo_ok(eo_orm_get(f->env, f->P, id, kv.field, NULL, 0, 0, &v, &err), &err);
    assert_string_equal(v->u.s.p, "Ann");
}

static void test_sqlite__free_rolls_back_open_transaction(void **state)
{
    fx *f = *state;
    char path[600];
    eo_env *env;
    eo_error err;
    snprintf(path, sizeof path, "%s/open.db", f->dir);
    env = open_file(f->reg, path);
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    create_named(env, f->P, "Committed", NULL);
    assert_eo_ok(eo_env_begin(env, EO_ISO_DEFAULT, &err), &err);
    create_named(env, f->P, "Pending", NULL);
    eo_env_free(env);
    env = open_file(f->reg, path);
    assert_int_equal(count(env, f->P, "[]"), 1);
    eo_env_free(env);
}

/* ---- group --------------------------------------------------------- */

static void test_sqlite__group(void **state)
{
    fx *f = *state;
    eo_id ids[5];
    eo_group_key key;
    eo_group_agg aggs[2];
    eo_group_query g;
    eo_buf b = EO_BUF_INIT;
    eo_error err;
    eo_domain *d;
    make_people(f, ids);
    memset(&g, 0, sizeof g);
    key.field = th_field(f->P, "kind");
    key.gran = EO_GRAN_NONE;
    key.name = "kind";
    aggs[0].field = th_field(f->P, "age");
    aggs[0].agg = EO_AGG_SUM;
    aggs[0].name = "age:sum";
    aggs[1].field = th_field(f->P, "age");
    aggs[1].agg = EO_AGG_MAX;
    aggs[1].name = "age:max";
    g.model = f->P;
    g.keys = &key;
    g.nkeys = 1;
    g.aggs = aggs;
    g.naggs = 2;
    g.limit = -1;
    assert_eo_ok(eo_orm_group(f->env, &g, NULL, collect_row, &b, &err), &err);
    assert_string_equal(b.p, "company|1|45|45;person|4|79|31;");
    eo_buf__reset(&b);
    d = dom("[[\"age\", \">\", 20]]");
    g.naggs = 0;
    g.order_by_count_desc = 1;
    assert_eo_ok(eo_orm_group(f->env, &g, d, collect_row, &b, &err), &err);
    assert_string_equal(b.p, "person|2;company|1;");
    eo_domain_free(d);
    /* a Boolean key comes back as a boolean, NULL first */
    {
        eo_kv kv;
        kv.field = th_field(f->P, "active");
        kv.value = eo_bool(0);
        assert_eo_ok(eo_orm_write(f->env, f->P, &ids[1], 2, &kv, 1, 0, &err), &err);
        kv.value = eo_null();
        assert_eo_ok(eo_orm_write(f->env, f->P, &ids[4], 1, &kv, 1, 0, &err), &err);
    }
    eo_buf__reset(&b);
    key.field = th_field(f->P, "active");
    g.order_by_count_desc = 0;
    assert_eo_ok(eo_orm_group(f->env, &g, NULL, collect_row, &b, &err), &err);
    assert_string_equal(b.p, "null|1;false|2;true|2;");
    eo_buf__free(&b);
}

static void test_sqlite__group_by_month_and_decimal(void **state)
{
    fx *f = *state;
    trow r[3];
    eo_group_key key;
    eo_group_agg agg;
    eo_group_query g;
    eo_buf b = EO_BUF_INIT;
    eo_error err;
    static const char *const days[] = { "2024-01-05", "2024-01-20", "2024-03-01" };
    static const char *const prices[] = { "0.10", "0.20", "5.55" };
    size_t i;
    memset(r, 0, sizeof r);
    for (i = 0; i < 3; i++) {
        r[i].n = 3;
        r[i].f[0] = "name";
        r[i].v[0] = eo_cstr(days[i]);
        r[i].f[1] = "birthday";
        r[i].v[1] = eo_cstr(days[i]);
        r[i].f[2] = "price";
        r[i].v[2] = eo_cstr(prices[i]);
    }
    assert_eo_ok(create(f->env, f->P, r, 3, NULL, &err), &err);
    memset(&g, 0, sizeof g);
    key.field = th_field(f->P, "birthday");
    key.gran = EO_GRAN_MONTH;
    key.name = "birthday:month";
    agg.field = th_field(f->P, "price");
    agg.agg = EO_AGG_SUM;
    agg.name = "price:sum";
    g.model = f->P;
    g.keys = &key;
    g.nkeys = 1;
    g.aggs = &agg;
    g.naggs = 1;
    g.limit = -1;
    assert_eo_ok(eo_orm_group(f->env, &g, NULL, collect_row, &b, &err), &err);
    assert_string_equal(b.p, "2024-01|2|0.30;2024-03|1|5.55;");
    eo_buf__free(&b);
}

static void test_sqlite__group_errors(void **state)
{
    fx *f = *state;
    eo_group_key key;
    eo_group_agg agg;
    eo_group_query g;
    eo_error err;
    memset(&g, 0, sizeof g);
    g.model = f->P;
    g.keys = &key;
    g.nkeys = 1;
    g.limit = -1;
    key.field = th_field(f->P, "data");
    key.gran = EO_GRAN_NONE;
    assert_eo_error(eo_orm_group(f->env, &g, NULL, collect_row, NULL, &err), &err, EO_EINVAL,
                    "res.partner: cannot group by Json field 'data'");
    key.field = th_field(f->P, "age");
    key.gran = EO_GRAN_MONTH;
    assert_eo_error(eo_orm_group(f->env, &g, NULL, collect_row, NULL, &err), &err, EO_EINVAL,
                    "res.partner: 'age' is not a date: it has no day/month/year");
    key.gran = EO_GRAN_NONE;
    agg.field = th_field(f->P, "name");
    agg.agg = EO_AGG_SUM;
    g.aggs = &agg;
    g.naggs = 1;
    assert_eo_error(eo_orm_group(f->env, &g, NULL, collect_row, NULL, &err), &err, EO_EINVAL,
                    "res.partner: cannot sum Char field 'name'");
}

static void test_sqlite__explain(void **state)
{
    fx *f = *state;
    eo_domain *d = dom("[[\"name\", \"=\", \"Ann\"]]");
    char *plan = NULL;
    eo_error err;
    assert_eo_ok(eo_orm_explain(f->env, f->P, d, "name", 5, 0, &plan, &err), &err);
    assert_non_null(strstr(plan, "model: res.partner\n"));
    assert_non_null(strstr(plan, "backend: sqlite\n"));
    assert_non_null(strstr(plan, "domain: [[\"name\", \"=\", \"Ann\"]]\n"));
    assert_non_null(strstr(plan, "sql: SELECT \"id\" FROM \"res_partner\" WHERE \"name\" = ? ORDER BY \"name\" ASC LIMIT ?"));
    assert_non_null(strstr(plan, "params: 'Ann' 5"));
    assert_non_null(strstr(plan, "res_partner__name_idx")); /* the index is used */
    eo_free(plan);
    eo_domain_free(d);
}

/* ---- URLs, adapters, the query log --------------------------------- */

static void test_sqlite__url_parse(void **state)
{
    eo_url u;
    eo_error err;
    (void)state;
    assert_eo_ok(eo_url_parse(&u, "postgresql://ann:p%40ss@db.example.com:5433/shop?sslmode=require&x", &err),
                 &err);
    assert_string_equal(u.scheme, "postgresql");
    assert_string_equal(u.user, "ann");
    assert_string_equal(u.password, "p@ss"); /* percent-decoded */
    assert_string_equal(u.host, "db.example.com");
    assert_int_equal(u.port, 5433);
    assert_string_equal(u.path, "shop");
    assert_string_equal(eo_url_opt(&u, "sslmode"), "require");
    assert_string_equal(eo_url_opt(&u, "x"), "");
    assert_null(eo_url_opt(&u, "nope"));
    eo_url_free(&u);
    assert_eo_ok(eo_url_parse(&u, "mongodb://[::1]:27017/app", &err), &err);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 27017);
    eo_url_free(&u);
    assert_eo_ok(eo_url_parse(&u, "sqlite:///tmp/a%20b.db?timeout=10", &err), &err);
    assert_string_equal(u.path, "/tmp/a b.db");
    assert_string_equal(eo_url_opt(&u, "timeout"), "10");
    eo_url_free(&u);
    assert_eo_ok(eo_url_parse(&u, "sqlite::memory:", &err), &err);
    assert_string_equal(u.path, ":memory:");
    eo_url_free(&u);
    assert_eo_ok(eo_url_parse(&u, "sqlite://rel.db", &err), &err);
    assert_string_equal(u.path, "rel.db");
    eo_url_free(&u);
    eo_url_free(NULL);
}

static void test_sqlite__url_errors(void **state)
{
    eo_url u;
    eo_error err;
    (void)state;
    assert_eo_error(eo_url_parse(&u, "nocolon", &err), &err, EO_EINVAL,
                    "invalid database URL 'nocolon': expected scheme://..., like sqlite://demo.db");
    assert_eo_error(eo_url_parse(&u, ":memory:", &err), &err, EO_EINVAL, "expected scheme://");
    assert_eo_error(eo_url_parse(&u, "a b://x", &err), &err, EO_EINVAL, "invalid database URL 'a b://x': bad scheme");
    assert_eo_error(eo_url_parse(&u, "averyveryveryveryverylongschemename://x", &err), &err, EO_EINVAL,
                    "scheme too long");
    assert_eo_error(eo_url_parse(&u, "postgresql:host/db", &err), &err, EO_EINVAL,
                    "expected postgresql://host/...");
    assert_eo_error(eo_url_parse(&u, "postgresql://h:0/db", &err), &err, EO_EINVAL, "bad port");
    assert_eo_error(eo_url_parse(&u, "postgresql://h:12ab/db", &err), &err, EO_EINVAL, "bad port");
    assert_eo_error(eo_url_parse(&u, "postgresql://[::1/db", &err), &err, EO_EINVAL, "unclosed '['");
    assert_eo_error(eo_url_parse(&u, "sqlite://?timeout=1", &err), &err, EO_EINVAL, "no file name");
}

/* A second scheme served by the SQLite adapter on a file of the test's
 * directory (a file, so every pooled connection sees the same database). */
static char fake_path[600];

static int fake_open(eo_conn **out, const eo_url *url, eo_error *err)
{
    eo_url file = *url;
    file.path = fake_path;
    return eo_adapter_find("sqlite")->open(out, &file, err);
}

static void test_sqlite__adapter_registry_and_masked_url(void **state)
{
    fx *f = *state;
    static eo_adapter fake;
    eo_env *env = NULL;
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_error err;
    const eo_adapter *sq = eo_adapter_find("sqlite");
    assert_non_null(sq);
    assert_string_equal(sq->name, "sqlite");
    assert_ptr_equal(eo_adapter_find("sqlite3"), sq); /* an accepted spelling */
    assert_null(eo_adapter_find("fakedb"));
    assert_null(eo_adapter_find("SQLITE"));
    snprintf(fake_path, sizeof fake_path, "%s/fake.db", f->dir);
    fake = *sq;
    fake.scheme = "fakedb";
    fake.open = fake_open;
    assert_eo_ok(eo_adapter_register(&fake, &err), &err);
    assert_ptr_equal(eo_adapter_find("fakedb"), &fake);
    assert_eo_ok(eo_adapter_register(&fake, &err), &err); /* again: replaces */
    cfg.database_url = "fakedb://ann:s3cret@localhost:1234/db";
    assert_eo_ok(eo_env_open(&env, f->reg, &cfg, &err), &err);
    /* the password never shows */
    assert_string_equal(eo_env_url(env), "fakedb://ann:***@localhost:1234/db");
    assert_eo_ok(eo_env_migrate(env, 0, NULL, NULL, &err), &err);
    create_named(env, f->P, "via fake", NULL);
    assert_int_equal(count(env, f->P, "[]"), 1);
    eo_env_free(env);
}

static void test_sqlite__query_log(void **state)
{
    fx *f = *state;
    char path[600], text[8192];
    FILE *log;
    size_t n;
    eo_ids ids = { 0 };
    snprintf(path, sizeof path, "%s/query.log", f->dir);
    log = fopen(path, "w+");
    assert_non_null(log);
    eo_env_set_query_log(f->env, 1, log);
    create_named(f->env, f->P, "Ann", "ann@x.org");
    search(f->env, f->P, "[[\"name\", \"=\", \"Ann\"], [\"age\", \"=\", null], [\"email\", \"like\", \"x.org\"]]",
           "name", 7, 0, &ids);
    eo_env_set_query_log(f->env, 0, NULL);
    search(f->env, f->P, "[[\"name\", \"=\", \"not logged\"]]", NULL, -1, 0, &ids);
    eo_ids_free(&ids);
    fflush(log);
    rewind(log);
    n = fread(text, 1, sizeof text - 1, log);
    text[n] = '\0';
    fclose(log);
    assert_non_null(strstr(text, "[sqlite "));
    assert_non_null(strstr(text, "INSERT INTO \"res_partner\""));
    /* every parameter of the search, in order */
    assert_non_null(strstr(text, "SELECT \"id\" FROM \"res_partner\" WHERE (\"name\" = ? AND \"age\" IS NULL AND "
                                 "\"email\" GLOB ?) ORDER BY \"name\" ASC LIMIT ?  -- params: ['Ann', '*x.org*', 7]"));
    assert_non_null(strstr(text, "-- 1 row"));
    assert_null(strstr(text, "not logged"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_sqlite__open_memory),
        T(test_sqlite__open_errors),
        T(test_sqlite__file_database_uses_wal),
        T(test_sqlite__migrate_creates_tables_and_indexes),
        T(test_sqlite__migrate_adds_column),
        T(test_sqlite__migrate_refuses_type_change),
        T(test_sqlite__migrate_refuses_required_without_default),
        T(test_sqlite__migrate_backfills_default),
        T(test_sqlite__migrate_decimal_digits_all_or_nothing),
        T(test_sqlite__migrate_decimal_digits_unrecorded_table),
        T(test_sqlite__roundtrip_every_type),
        T(test_sqlite__decimal_exact_search_and_sort),
        T(test_sqlite__datetime_search_normalizes),
        T(test_sqlite__create_defaults_and_batch),
        T(test_sqlite__create_refusals),
        T(test_sqlite__required_missing),
        T(test_sqlite__unique_violation),
        T(test_sqlite__failed_batch_leaves_table_unchanged),
        T(test_sqlite__create_across_chunks),
        T(test_sqlite__injection_stored_and_matched_literally),
        T(test_sqlite__injection_in_long_list),
        T(test_sqlite__search_order_limit_offset),
        T(test_sqlite__search_errors),
        T(test_sqlite__exists),
        T(test_sqlite__search_rows_and_read_rows),
        T(test_sqlite__get_errors),
        T(test_sqlite__false_domain_sends_no_query),
        T(test_sqlite__prefetch_one_query_for_500),
        T(test_sqlite__prefetch_max_bounds_batches),
        T(test_sqlite__write),
        T(test_sqlite__write_errors),
        T(test_sqlite__unlink),
        T(test_sqlite__ondelete_restrict),
        T(test_sqlite__ondelete_cascade),
        T(test_sqlite__ondelete_set_null),
        T(test_sqlite__child_of_parent_of),
        T(test_sqlite__transaction_commit_and_rollback),
        T(test_sqlite__nested_savepoints),
        T(test_sqlite__transaction_state_errors),
        T(test_sqlite__rollback_clears_store),
        T(test_sqlite__free_rolls_back_open_transaction),
        T(test_sqlite__group),
        T(test_sqlite__group_by_month_and_decimal),
        T(test_sqlite__group_errors),
        T(test_sqlite__explain),
        T(test_sqlite__url_parse),
        T(test_sqlite__url_errors),
        T(test_sqlite__adapter_registry_and_masked_url),
        T(test_sqlite__query_log),
    };
    return cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
}
