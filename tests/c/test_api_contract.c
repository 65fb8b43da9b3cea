/*
 * test_api_contract.c - the error contract of every public C function
 * (error.h, STYLE.md §3), table-driven.
 *
 * For each EO_API function of core/include/earnorm/ the table has one
 * entry: a call that succeeds, and the same call with each required
 * pointer argument NULL. A function that takes an eo_error must leave it
 * cleared when it succeeds (it starts 0x5a-filled: garbage in every
 * member) and must refuse each NULL argument with EO_EINVAL and the
 * message "<function>: <argument> is NULL", without crashing (the ASan
 * build runs this too). A function without an eo_error must survive each
 * NULL argument and give what its header says (NULL, 0, nothing).
 *
 * The list of functions is read from the headers at run time (every line
 * starting with EO_API, under $EARNORM_SOURCE_DIR): a public function
 * missing from the table fails the run, so none can skip the contract.
 * Everything runs for real on SQLite (files in a temp directory, and
 * sqlite::memory:), the engine functions through a Lua model file.
 */
#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>

#include "helpers.h"

/* ---- fixture ------------------------------------------------------- */

typedef struct fx {
    char dir[512];
    eo_registry *reg;
    eo_model *m;               /* api.item */
    const eo_field *name, *parent, *children, *dbl;
    eo_env *env;               /* sqlite file, migrated */
    eo_id ids[2];              /* two records; ids[1] is a child of ids[0] */
    eo_pool *pool;             /* sqlite::memory: */
    eo_engine *eng;            /* with the model api.note, migrated */
    char models[600];
} fx;

static fx F;

static const char *const NOTE_MODEL =
    "local orm = require \"earnorm\"\n"
    "return orm.model(\"api.note\", { name = orm.fields.Char{} })\n";

static void add_field(eo_model *m, const char *name, eo_ftype t, unsigned flags,
                      const char *comodel, const char *inverse)
{
    eo_field_spec s;
    eo_error err;
    memset(&s, 0, sizeof s);
    s.name = name;
    s.type = t;
    s.flags = flags;
    s.comodel = comodel;
    s.inverse = inverse;
    if (t == EO_FT_DECIMAL) {
        s.precision = 12;
        s.scale = 2;
    }
    assert_eo_ok(eo_model_add_field(NULL, m, &s, &err), &err);
}

typedef struct one_row {
    const eo_field *f;
    const char *text;
} one_row;

static int one_row_fn(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    one_row *r = payload;
    (void)i;
    (void)cap;
    (void)err;
    out[0].field = r->f;
    out[0].value = eo_cstr(r->text);
    *n = 1;
    return EO_OK;
}

static eo_id new_record(const char *text)
{
    one_row r = { F.name, text };
    eo_id id;
    eo_error err;
    assert_eo_ok(eo_orm_create(F.env, F.m, 1, one_row_fn, &r, 0, &id, &err), &err);
    return id;
}

static int setup(void **state)
{
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_engine_config ecfg = EO_ENGINE_CONFIG_INIT;
    eo_error err;
    char url[700], path[700];
    eo_kv kv;
    (void)state;
    memset(&F, 0, sizeof F);
    th_tmpdir(F.dir, sizeof F.dir);
    assert_eo_ok(eo_registry_new(&F.reg, &err), &err);
    assert_eo_ok(eo_registry_add_model(&F.m, F.reg, "api.item", &err), &err);
    add_field(F.m, "name", EO_FT_CHAR, 0, NULL, NULL);
    add_field(F.m, "price", EO_FT_DECIMAL, 0, NULL, NULL);
    add_field(F.m, "parent_id", EO_FT_MANY2ONE, 0, "api.item", NULL);
    add_field(F.m, "child_ids", EO_FT_ONE2MANY, 0, "api.item", "parent_id");
    add_field(F.m, "dbl", EO_FT_INTEGER, EO_FF_COMPUTED, NULL, NULL);
    assert_eo_ok(eo_registry_resolve(F.reg, &err), &err);
    F.name = th_field(F.m, "name");
    F.parent = th_field(F.m, "parent_id");
    F.children = th_field(F.m, "child_ids");
    F.dbl = th_field(F.m, "dbl");
    snprintf(url, sizeof url, "sqlite://%s/api.db", F.dir);
    cfg.database_url = url;
    assert_eo_ok(eo_env_open(&F.env, F.reg, &cfg, &err), &err);
    assert_eo_ok(eo_env_migrate(F.env, 0, NULL, NULL, &err), &err);
    F.ids[0] = new_record("parent");
    F.ids[1] = new_record("child");
    kv.field = F.parent;
    kv.value = eo_int(F.ids[0].num);
    assert_eo_ok(eo_orm_write(F.env, F.m, &F.ids[1], 1, &kv, 1, 0, &err), &err);
    assert_eo_ok(eo_pool_new(&F.pool, "sqlite::memory:", NULL, &err), &err);

    snprintf(F.models, sizeof F.models, "%s/models", F.dir);
    if (mkdir(F.models, 0700) != 0)
        return -1;
    th_write_file(path, sizeof path, F.models, "api_note.lua", NOTE_MODEL);
    snprintf(url, sizeof url, "sqlite://%s/engine.db", F.dir);
    ecfg.database_url = url;
    ecfg.models_path = F.models;
    assert_eo_ok(eo_engine_open(&F.eng, &ecfg, &err), &err);
    assert_eo_ok(eo_engine_migrate(F.eng, &err), &err);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    eo_engine_close(F.eng);
    eo_pool_unref(F.pool);
    eo_env_free(F.env);
    eo_registry_free(F.reg);
    th_rmtree(F.dir);
    return 0;
}

/* ---- the table ------------------------------------------------------ */

/*
 * A case calls its function once. nul < 0: the successful call; nul = i:
 * the call with the i-th argument named in `args` NULL. K_ERR cases
 * return the function's result (the driver checks err); K_PLAIN cases
 * check their own results and return 0; K_SELF cases check everything
 * themselves (eo_error_set fills err by design).
 */
typedef enum kind { K_ERR, K_PLAIN, K_SELF } kind;
typedef int (*case_fn)(int nul, eo_error *err);
typedef struct api_case {
    const char *name;
    kind kind;
    const char *args;   /* required pointer arguments, comma-separated, as the header names them */
    case_fn call;
} api_case;

/* argument i, or NULL in the call that tests argument i */
#define A(i, x) (nul == (i) ? NULL : (x))

static eo_error scratch_err; /* for preconditions inside a case */
#define PRE(call) assert_eo_ok((call), &scratch_err)

/* ---- common.h, alloc.h, error.h ---- */

static int c_version(int nul, eo_error *err)
{
    (void)nul; (void)err;
    assert_string_equal(eo_version(), EO_VERSION_STRING);
    return 0;
}

static size_t counted;
static void *cnt_malloc(size_t n, void *pl) { (void)pl; counted++; return malloc(n); }
static void *cnt_realloc(void *p, size_t n, void *pl) { (void)pl; counted++; return realloc(p, n); }
static void cnt_free(void *p, void *pl) { (void)pl; free(p); }

static int c_set_allocator(int nul, eo_error *err)
{
    static const eo_allocator a = { cnt_malloc, cnt_realloc, cnt_free, NULL };
    (void)nul; (void)err;
    counted = 0;
    eo_set_allocator(&a);
    eo_free(eo_malloc(3));
    eo_set_allocator(NULL); /* NULL restores the C library's */
    assert_int_equal(counted, 1);
    eo_free(eo_malloc(3));
    assert_int_equal(counted, 1);
    return 0;
}

static int c_malloc(int nul, eo_error *err)
{
    void *p = eo_malloc(0);
    (void)nul; (void)err;
    assert_non_null(p);
    eo_free(p);
    return 0;
}

static int c_calloc(int nul, eo_error *err)
{
    unsigned char *p = eo_calloc(4, 2);
    (void)nul; (void)err;
    assert_non_null(p);
    assert_int_equal(p[7], 0);
    eo_free(p);
    assert_null(eo_calloc(SIZE_MAX / 2, 4));
    return 0;
}

static int c_realloc(int nul, eo_error *err)
{
    char *p = eo_realloc(NULL, 4); /* NULL: a new block */
    (void)nul; (void)err;
    assert_non_null(p);
    p = eo_realloc(p, 64);
    assert_non_null(p);
    eo_free(p);
    return 0;
}

static int c_free(int nul, eo_error *err)
{
    (void)err;
    eo_free(A(0, eo_malloc(1)));
    return 0;
}

static int c_strdup(int nul, eo_error *err)
{
    char *s = eo_strdup(A(0, "abc"));
    (void)err;
    if (nul == 0)
        assert_null(s);
    else
        assert_string_equal(s, "abc");
    eo_free(s);
    return 0;
}

static int c_strndup(int nul, eo_error *err)
{
    char *s = eo_strndup(A(0, "abcdef"), 3);
    (void)err;
    if (nul == 0)
        assert_null(s);
    else
        assert_string_equal(s, "abc");
    eo_free(s);
    return 0;
}

static int c_strerror(int nul, eo_error *err)
{
    (void)nul; (void)err;
    assert_string_equal(eo_strerror(EO_EINVAL), "invalid input");
    assert_string_equal(eo_strerror(12345), "unknown error");
    return 0;
}

static int c_code_name(int nul, eo_error *err)
{
    (void)nul; (void)err;
    assert_string_equal(eo_code_name(EO_ELIMIT), "ELIMIT");
    assert_string_equal(eo_code_name(EO_OK), "OK");
    return 0;
}

static int c_error_clear(int nul, eo_error *err)
{
    (void)nul;
    eo_error_clear(err);
    return EO_OK;
}

static int c_error_set(int nul, eo_error *err)
{
    const char *nofmt = NULL;
    (void)nul;
    if (err == NULL) {
        assert_int_equal(eo_error_set(NULL, EO_EBUSY, "x"), EO_EBUSY);
        return 0;
    }
    memset(err, 0x5a, sizeof *err);
    assert_int_equal(eo_error_set(err, EO_EBUSY, "busy %d\nsecond line", 7), EO_EBUSY);
    assert_int_equal(err->code, EO_EBUSY);
    assert_int_equal(err->domain, EO_DOMAIN_CORE);
    assert_int_equal(err->native, 0);
    assert_string_equal(err->msg, "busy 7 second line");
    assert_string_equal(err->model, "");
    assert_string_equal(err->field, "");
    memset(err, 0x5a, sizeof *err);
    assert_int_equal(eo_error_set(err, EO_EINVAL, nofmt), EO_EINVAL); /* NULL format: no crash */
    assert_string_equal(err->msg, "");
    return 0;
}

static int c_error_where(int nul, eo_error *err)
{
    eo_error e;
    (void)nul; (void)err;
    eo_error_where(NULL, "m", "f");
    eo_error_set(&e, EO_EINVAL, "x");
    eo_error_where(&e, NULL, "price");
    assert_string_equal(e.model, "");
    assert_string_equal(e.field, "price");
    eo_error_where(&e, "api.item", NULL);
    assert_string_equal(e.model, "api.item");
    assert_string_equal(e.field, "price");
    return 0;
}

/* ---- model.h ---- */

static int c_registry_new(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    int rc = eo_registry_new(A(0, &reg), err);
    eo_registry_free(reg);
    return rc;
}

static int c_registry_free(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    (void)err;
    if (nul < 0)
        PRE(eo_registry_new(&reg, &scratch_err));
    eo_registry_free(reg);
    return 0;
}

static int c_registry_add_model(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    eo_model *m = (eo_model *)&m; /* reset to NULL on the way in */
    int rc;
    PRE(eo_registry_new(&reg, &scratch_err));
    rc = eo_registry_add_model(A(0, &m), A(1, reg), A(2, "api.other"), err);
    if (nul != 0)
        assert_true(rc == EO_OK ? m != NULL : m == NULL);
    eo_registry_free(reg);
    return rc;
}

static int c_registry_add_embedded(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    eo_model *m = (eo_model *)&m;
    int rc;
    PRE(eo_registry_new(&reg, &scratch_err));
    rc = eo_registry_add_embedded(A(0, &m), A(1, reg), A(2, "api_addr"), err);
    if (nul != 0)
        assert_true(rc == EO_OK ? m != NULL && m->embedded : m == NULL);
    eo_registry_free(reg);
    return rc;
}

static int c_registry_find_embedded(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL, *found;
    (void)err;
    PRE(eo_registry_new(&reg, &scratch_err));
    PRE(eo_registry_add_embedded(&m, reg, "api_addr", &scratch_err));
    found = eo_registry_find_embedded(A(0, reg), A(1, "api_addr"));
    assert_ptr_equal(found, nul < 0 ? m : NULL);
    assert_null(eo_registry_find(reg, "api_addr")); /* not a model */
    eo_registry_free(reg);
    return 0;
}

static int c_embedded_normalize(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    eo_model *t = NULL, *m = NULL;
    eo_field *ef = NULL;
    eo_field_spec s;
    char *out = (char *)&out;
    size_t n = 0;
    int rc;
    static const char json[] = "{\"zip\":\"1\",\"city\":\"Oslo\"}";
    PRE(eo_registry_new(&reg, &scratch_err));
    PRE(eo_registry_add_embedded(&t, reg, "api_addr", &scratch_err));
    memset(&s, 0, sizeof s);
    s.type = EO_FT_CHAR;
    s.name = "city";
    s.flags = EO_FF_REQUIRED;
    PRE(eo_model_add_field(NULL, t, &s, &scratch_err));
    s.name = "zip";
    s.flags = 0;
    PRE(eo_model_add_field(NULL, t, &s, &scratch_err));
    PRE(eo_registry_add_model(&m, reg, "api.holder", &scratch_err));
    memset(&s, 0, sizeof s);
    s.type = EO_FT_EMBEDDED;
    s.name = "address";
    s.comodel = "api_addr";
    PRE(eo_model_add_field(&ef, m, &s, &scratch_err));
    PRE(eo_registry_resolve(reg, &scratch_err));
    rc = eo_embedded_normalize(A(0, &out), &n, A(1, ef), A(2, json), sizeof json - 1, err);
    if (nul < 0) {
        assert_int_equal(rc, EO_OK);
        assert_string_equal(out, "{\"city\":\"Oslo\",\"zip\":\"1\"}");
        assert_int_equal(n, strlen(out));
        eo_free(out);
        /* the error path: a required sub-field missing, named with its path */
        assert_int_equal(eo_embedded_normalize(&out, NULL, ef, "{}", 2, &scratch_err),
                         EO_EVALIDATE);
        assert_null(out);
        assert_string_equal(scratch_err.msg, "api.holder.address.city: required field missing");
    } else if (nul != 0) {
        assert_null(out);
    }
    eo_registry_free(reg);
    return rc;
}

static int c_registry_find(int nul, eo_error *err)
{
    eo_model *m = eo_registry_find(A(0, F.reg), A(1, "api.item"));
    (void)err;
    if (nul < 0)
        assert_ptr_equal(m, F.m);
    else
        assert_null(m);
    return 0;
}

static int c_registry_count(int nul, eo_error *err)
{
    (void)err;
    assert_int_equal(eo_registry_count(A(0, F.reg)), nul < 0 ? 1 : 0);
    return 0;
}

static int c_registry_at(int nul, eo_error *err)
{
    (void)err;
    assert_ptr_equal(eo_registry_at(A(0, F.reg), 0), nul < 0 ? F.m : NULL);
    assert_null(eo_registry_at(F.reg, 99));
    return 0;
}

static int c_registry_version(int nul, eo_error *err)
{
    (void)err;
    if (nul < 0)
        assert_true(eo_registry_version(F.reg) > 0);
    else
        assert_int_equal(eo_registry_version(NULL), 0);
    return 0;
}

static int c_registry_resolve(int nul, eo_error *err)
{
    return eo_registry_resolve(A(0, F.reg), err);
}

static int c_model_set(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    int rc;
    PRE(eo_registry_new(&reg, &scratch_err));
    PRE(eo_registry_add_model(&m, reg, "api.set", &scratch_err));
    rc = eo_model_set(A(0, m), "described", NULL, NULL, NULL, err);
    if (rc == EO_OK)
        assert_string_equal(m->description, "described");
    eo_registry_free(reg);
    return rc;
}

static int c_model_add_field(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    eo_field *f = (eo_field *)&f;
    eo_field_spec s, unnamed;
    int rc;
    PRE(eo_registry_new(&reg, &scratch_err));
    PRE(eo_registry_add_model(&m, reg, "api.fields", &scratch_err));
    memset(&s, 0, sizeof s);
    s.name = "title";
    s.type = EO_FT_CHAR;
    memset(&unnamed, 0, sizeof unnamed);
    unnamed.type = EO_FT_CHAR;
    rc = eo_model_add_field(&f, A(0, m), A(1, nul == 2 ? &unnamed : &s), err);
    assert_true(rc == EO_OK ? f != NULL && strcmp(f->name, "title") == 0 : f == NULL);
    eo_registry_free(reg);
    return rc;
}

static int c_model_log_access(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    const eo_field *f;
    int rc;
    PRE(eo_registry_new(&reg, &scratch_err));
    PRE(eo_registry_add_model(&m, reg, "api.log", &scratch_err));
    rc = eo_model_log_access(A(0, m), err);
    f = eo_model_field(m, "write_date", 10);
    assert_true(rc == EO_OK ? f && f->type == EO_FT_DATETIME && (f->flags & EO_FF_WRITE_DATE)
                            : f == NULL);
    eo_registry_free(reg);
    return rc;
}

static int c_model_versioned(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    const eo_field *f;
    int rc;
    PRE(eo_registry_new(&reg, &scratch_err));
    PRE(eo_registry_add_model(&m, reg, "api.ver", &scratch_err));
    rc = eo_model_versioned(A(0, m), "rev", err);
    f = eo_model_field(m, "rev", 3);
    assert_true(rc == EO_OK ? f && f->type == EO_FT_INTEGER && (f->flags & EO_FF_VERSION)
                            : f == NULL);
    eo_registry_free(reg);
    return rc;
}

static int c_model_track(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    eo_field *f = NULL;
    eo_field_spec s;
    int rc;
    PRE(eo_registry_new(&reg, &scratch_err));
    PRE(eo_registry_add_model(&m, reg, "api.track", &scratch_err));
    memset(&s, 0, sizeof s);
    s.name = "title";
    s.type = EO_FT_CHAR;
    PRE(eo_model_add_field(&f, m, &s, &scratch_err));
    rc = eo_model_track(A(0, m), A(1, "title"), err);
    assert_true(rc == EO_OK ? (f->flags & EO_FF_TRACKED) != 0 : (f->flags & EO_FF_TRACKED) == 0);
    eo_registry_free(reg);
    return rc;
}

static int c_model_set_indexes(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    eo_field_spec s;
    eo_index_spec ix;
    const char *names[] = { "a", "b" };
    int rc;
    PRE(eo_registry_new(&reg, &scratch_err));
    PRE(eo_registry_add_model(&m, reg, "api.ix", &scratch_err));
    memset(&s, 0, sizeof s);
    s.type = EO_FT_CHAR;
    s.name = "a";
    PRE(eo_model_add_field(NULL, m, &s, &scratch_err));
    s.name = "b";
    PRE(eo_model_add_field(NULL, m, &s, &scratch_err));
    memset(&ix, 0, sizeof ix);
    ix.constraint = "ab_uniq";
    ix.message = "a and b once";
    ix.fields = names;
    ix.nfields = 2;
    ix.unique = 1;
    rc = eo_model_set_indexes(A(0, m), A(1, &ix), 1, err);
    if (rc == EO_OK) {
        assert_int_equal(m->nindexes, 1);
        assert_string_equal(m->indexes[0].name, "api_ix__ab_uniq_ckey");
        assert_string_equal(m->indexes[0].fields[1]->name, "b");
    }
    eo_registry_free(reg);
    return rc;
}

static int c_model_field(int nul, eo_error *err)
{
    eo_field *f = eo_model_field(A(0, F.m), A(1, "name"), 4);
    (void)err;
    assert_ptr_equal(f, nul < 0 ? F.name : NULL);
    return 0;
}

static int c_model_active_field(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    const eo_field *f;
    (void)err;
    PRE(eo_registry_new(&reg, &scratch_err));
    PRE(eo_registry_add_model(&m, reg, "api.flagged", &scratch_err));
    add_field(m, "active", EO_FT_BOOLEAN, 0, NULL, NULL);
    f = eo_model_active_field(A(0, m));
    assert_true(nul < 0 ? f != NULL && strcmp(f->name, "active") == 0 : f == NULL);
    assert_null(eo_model_active_field(F.m)); /* api.item has no flag */
    eo_registry_free(reg);
    return 0;
}

static int c_ftype_name(int nul, eo_error *err)
{
    (void)nul; (void)err;
    assert_string_equal(eo_ftype_name(EO_FT_MANY2ONE), "Many2one");
    assert_string_equal(eo_ftype_name((eo_ftype)99), "?");
    return 0;
}

static int c_ftype_from_name(int nul, eo_error *err)
{
    (void)err;
    assert_int_equal(eo_ftype_from_name(A(0, "Decimal")), nul < 0 ? EO_FT_DECIMAL : -1);
    return 0;
}

static int c_field_convert(int nul, eo_error *err)
{
    eo_value in = eo_int(42), out = eo_int(1);
    eo_value_scratch sc;
    int rc;
    memset(&sc, 0, sizeof sc);
    rc = eo_field_convert(A(0, F.name), A(1, &in), A(2, &out), A(3, &sc), err);
    if (rc == EO_OK)
        assert_true(out.type == EO_VTEXT && out.u.s.n == 2 && memcmp(out.u.s.p, "42", 2) == 0);
    else if (nul != 2)
        assert_int_equal(out.type, EO_VNULL); /* out reset first */
    return rc;
}

/* ---- env.h ---- */

static int c_env_open(int nul, eo_error *err)
{
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_env *env = (eo_env *)&env;
    int rc;
    cfg.database_url = "sqlite::memory:";
    rc = eo_env_open(A(0, &env), A(1, F.reg), &cfg, err);
    if (nul != 0) {
        assert_true(rc == EO_OK ? env != NULL : env == NULL);
        eo_env_free(env);
    }
    return rc;
}

static int c_env_free(int nul, eo_error *err)
{
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_env *env = NULL;
    (void)err;
    cfg.database_url = "sqlite::memory:";
    if (nul < 0)
        PRE(eo_env_open(&env, F.reg, &cfg, &scratch_err));
    eo_env_free(env);
    return 0;
}

static int c_env_registry(int nul, eo_error *err)
{
    (void)err;
    assert_ptr_equal(eo_env_registry(A(0, F.env)), nul < 0 ? F.reg : NULL);
    return 0;
}

static int c_env_pool(int nul, eo_error *err)
{
    (void)err;
    if (nul < 0)
        assert_non_null(eo_env_pool(F.env));
    else
        assert_null(eo_env_pool(NULL));
    return 0;
}

static int c_env_backend(int nul, eo_error *err)
{
    (void)err;
    if (nul < 0)
        assert_string_equal(eo_env_backend(F.env), "sqlite");
    else
        assert_null(eo_env_backend(NULL));
    return 0;
}

static int c_env_idkind(int nul, eo_error *err)
{
    (void)err;
    assert_int_equal(eo_env_idkind(A(0, F.env)), EO_IDNUM);
    return 0;
}

static int c_env_url(int nul, eo_error *err)
{
    (void)err;
    if (nul < 0)
        assert_non_null(strstr(eo_env_url(F.env), "api.db"));
    else
        assert_null(eo_env_url(NULL));
    return 0;
}

static int c_env_begin(int nul, eo_error *err)
{
    int rc = eo_env_begin(A(0, F.env), EO_ISO_DEFAULT, err);
    if (rc == EO_OK)
        PRE(eo_env_rollback(F.env, &scratch_err));
    return rc;
}

static int c_env_commit(int nul, eo_error *err)
{
    if (nul < 0)
        PRE(eo_env_begin(F.env, EO_ISO_DEFAULT, &scratch_err));
    return eo_env_commit(A(0, F.env), err);
}

static int c_env_rollback(int nul, eo_error *err)
{
    if (nul < 0)
        PRE(eo_env_begin(F.env, EO_ISO_DEFAULT, &scratch_err));
    return eo_env_rollback(A(0, F.env), err);
}

static int c_env_txn_depth(int nul, eo_error *err)
{
    (void)err;
    assert_int_equal(eo_env_txn_depth(A(0, F.env)), 0);
    return 0;
}

static int c_env_atomic_begin(int nul, eo_error *err)
{
    int rc = eo_env_atomic_begin(A(0, F.env), err);
    if (rc == EO_OK)
        PRE(eo_env_atomic_end(F.env, 1, &scratch_err));
    return rc;
}

static int c_env_atomic_end(int nul, eo_error *err)
{
    if (nul < 0)
        PRE(eo_env_atomic_begin(F.env, &scratch_err));
    return eo_env_atomic_end(A(0, F.env), 1, err);
}

static int c_env_caps(int nul, eo_error *err)
{
    (void)err;
    if (nul < 0)
        assert_true(eo_env_caps(F.env) & EO_CAP_TRANSACTIONS);
    else
        assert_int_equal(eo_env_caps(NULL), 0);
    return 0;
}

static int c_env_server(int nul, eo_error *err)
{
    (void)err;
    if (nul < 0)
        assert_non_null(strstr(eo_env_server(F.env), "SQLite"));
    else
        assert_null(eo_env_server(NULL));
    return 0;
}

static int c_env_prefetch_max(int nul, eo_error *err)
{
    (void)err;
    if (nul < 0)
        assert_int_equal(eo_env_prefetch_max(F.env), 20000); /* SQLite's default */
    else
        assert_int_equal(eo_env_prefetch_max(NULL), 0);
    return 0;
}

static int c_env_stats(int nul, eo_error *err)
{
    eo_stats st;
    (void)err;
    memset(&st, 0x5a, sizeof st);
    eo_env_stats(A(0, F.env), A(1, &st));
    if (nul == 0)
        assert_int_equal(st.queries, 0); /* zeroed */
    else if (nul < 0)
        assert_true(st.queries > 0);
    return 0;
}

static int c_env_reset_stats(int nul, eo_error *err)
{
    (void)err;
    eo_env_reset_stats(A(0, F.env));
    return 0;
}

static int c_env_set_query_log(int nul, eo_error *err)
{
    (void)err;
    eo_env_set_query_log(A(0, F.env), 0, NULL);
    return 0;
}

static int c_env_migrate(int nul, eo_error *err)
{
    return eo_env_migrate(A(0, F.env), 1, NULL, NULL, err);
}

static int c_env_ping(int nul, eo_error *err)
{
    double ms = -1;
    int rc = eo_env_ping(A(0, F.env), &ms, err);
    assert_true(rc == EO_OK ? ms >= 0 : ms == 0);
    return rc;
}

static int c_env_invalidate_all(int nul, eo_error *err)
{
    (void)err;
    eo_env_invalidate_all(A(0, F.env));
    return 0;
}

/* ---- orm.h ---- */

static int c_ids_push(int nul, eo_error *err)
{
    eo_ids ids = { 0 };
    (void)err;
    assert_int_equal(eo_ids_push(A(0, &ids), eo_id_num(7)), nul < 0 ? EO_OK : EO_EINVAL);
    assert_int_equal(ids.n, nul < 0 ? 1 : 0);
    eo_ids_free(&ids);
    return 0;
}

static int c_ids_free(int nul, eo_error *err)
{
    eo_ids ids = { 0 };
    (void)err;
    eo_ids_push(&ids, eo_id_num(1));
    eo_ids_free(A(0, &ids));
    if (nul == 0)
        eo_ids_free(&ids);
    assert_null(ids.v);
    return 0;
}

static int c_orm_create(int nul, eo_error *err)
{
    one_row r = { F.name, "made" };
    eo_id id;
    int rc = eo_orm_create(A(0, F.env), A(1, F.m), 1, A(2, one_row_fn), &r, 0, A(3, &id), err);
    if (rc == EO_OK)
        PRE(eo_orm_unlink(F.env, F.m, &id, 1, &scratch_err));
    return rc;
}

static int c_orm_write(int nul, eo_error *err)
{
    eo_kv kv;
    kv.field = F.name;
    kv.value = eo_cstr("parent");
    return eo_orm_write(A(0, F.env), A(1, F.m), A(2, F.ids), 1, A(3, &kv), 1, 0, err);
}

static int c_orm_write_each(int nul, eo_error *err)
{
    eo_value v = eo_cstr("parent");
    return eo_orm_write_each(A(0, F.env), A(1, F.m), A(2, F.ids), 1, A(3, F.name), A(4, &v), 0,
                             err);
}

static int c_orm_unlink(int nul, eo_error *err)
{
    eo_id id = nul < 0 ? new_record("doomed") : F.ids[0];
    return eo_orm_unlink(A(0, F.env), A(1, F.m), A(2, &id), 1, err);
}

static int c_orm_search(int nul, eo_error *err)
{
    eo_ids out = { 0 };
    eo_domain *d = NULL;
    static const char dom[] = "[[\"name\", \"=\", \"child\"]]";
    int rc;
    PRE(eo_domain_from_json(&d, dom, strlen(dom), &scratch_err));
    rc = eo_orm_search(A(0, F.env), A(1, F.m), d, "name desc", -1, 0, A(2, &out), err);
    if (rc == EO_OK)
        assert_true(out.n == 1 && eo_id_equal(out.v[0], F.ids[1]));
    eo_ids_free(&out);
    eo_domain_free(d);
    return rc;
}

static int c_orm_cursor_open(int nul, eo_error *err)
{
    eo_cursor *cur = NULL;
    int rc = eo_orm_cursor_open(A(0, &cur), A(1, F.env), A(2, F.m), NULL, "name", -1, 0, err);
    assert_true(rc == EO_OK ? cur != NULL : cur == NULL);
    eo_orm_cursor_close(cur);
    return rc;
}

static int c_orm_cursor_next(int nul, eo_error *err)
{
    eo_cursor *cur = NULL;
    eo_ids out = { 0 };
    int rc;
    PRE(eo_orm_cursor_open(&cur, F.env, F.m, NULL, NULL, -1, 0, &scratch_err));
    rc = eo_orm_cursor_next(A(0, cur), 1, A(1, &out), err);
    assert_int_equal(out.n, rc == EO_OK ? 1 : 0);
    eo_ids_free(&out);
    eo_orm_cursor_close(cur);
    return rc;
}

static int c_orm_cursor_done(int nul, eo_error *err)
{
    eo_cursor *cur = NULL;
    (void)err;
    PRE(eo_orm_cursor_open(&cur, F.env, F.m, NULL, NULL, -1, 0, &scratch_err));
    assert_int_equal(eo_orm_cursor_done(A(0, cur)), nul == 0);
    eo_orm_cursor_close(cur);
    return 0;
}

static int c_orm_cursor_close(int nul, eo_error *err)
{
    eo_cursor *cur = NULL;
    eo_stats st;
    (void)err;
    PRE(eo_orm_cursor_open(&cur, F.env, F.m, NULL, NULL, -1, 0, &scratch_err));
    eo_orm_cursor_close(A(0, cur));
    eo_env_stats(F.env, &st);
    assert_int_equal(st.cursors, nul < 0 ? 0 : 1);
    if (nul == 0)
        eo_orm_cursor_close(cur);
    return 0;
}

static int c_orm_search_count(int nul, eo_error *err)
{
    int64_t n = -1;
    int rc = eo_orm_search_count(A(0, F.env), A(1, F.m), NULL, A(2, &n), err);
    assert_true(rc == EO_OK ? n >= 2 : n == 0 || nul == 2);
    return rc;
}

static int c_orm_search_fetch(int nul, eo_error *err)
{
    eo_ids out = { 0 };
    int rc;
    eo_orm_invalidate(F.env, F.m, NULL, 0, NULL);
    rc = eo_orm_search_fetch(A(0, F.env), A(1, F.m), NULL, NULL, 0, "name", -1, 0, A(2, &out), err);
    if (rc == EO_OK)
        assert_true(out.n >= 2 && eo_orm_cached(F.env, F.m, out.v[0], F.name));
    eo_ids_free(&out);
    return rc;
}

static int count_rows(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    (void)row; (void)ncols; (void)err;
    ++*(int *)payload;
    return EO_OK;
}

static int c_orm_search_rows(int nul, eo_error *err)
{
    int rows = 0;
    int rc = eo_orm_search_rows(A(0, F.env), A(1, F.m), NULL, NULL, 0, NULL, -1, 0,
                                A(2, count_rows), &rows, err);
    if (rc == EO_OK)
        assert_true(rows >= 2);
    return rc;
}

static int c_orm_read_rows(int nul, eo_error *err)
{
    const eo_field *fields[1];
    int rows = 0, rc;
    fields[0] = F.name;
    rc = eo_orm_read_rows(A(0, F.env), A(1, F.m), A(2, F.ids), 2, A(3, fields), 1,
                          A(4, count_rows), &rows, err);
    if (rc == EO_OK)
        assert_int_equal(rows, 2);
    return rc;
}

static int c_orm_get(int nul, eo_error *err)
{
    const eo_value *v = (const eo_value *)&v;
    int rc;
    eo_env_invalidate_all(F.env); /* a miss: the load path */
    rc = eo_orm_get(A(0, F.env), A(1, F.m), F.ids[0], A(2, F.name), A(3, F.ids), 2, 0,
                    A(4, &v), err);
    if (rc == EO_OK)
        assert_true(v->type == EO_VTEXT && v->u.s.n == 6);
    else if (nul != 4)
        assert_null(v);
    if (rc == EO_OK) {
        /* and a hit, the per-record path */
        memset(err ? err : &scratch_err, 0x5a, sizeof(eo_error));
        rc = eo_orm_get(F.env, F.m, F.ids[0], F.name, F.ids, 2, 0, &v, err);
    }
    return rc;
}

static int c_orm_get_ids(int nul, eo_error *err)
{
    const eo_id *list = (const eo_id *)&list;
    size_t n = 99;
    int rc;
    eo_env_invalidate_all(F.env);
    rc = eo_orm_get_ids(A(0, F.env), A(1, F.m), F.ids[0], A(2, F.children), A(3, F.ids), 1, 0,
                        A(4, &list), A(5, &n), err);
    if (rc == EO_OK)
        assert_true(n == 1 && eo_id_equal(list[0], F.ids[1]));
    else if (nul != 4 && nul != 5)
        assert_true(list == NULL && n == 0);
    return rc;
}

static int c_orm_link(int nul, eo_error *err)
{
    eo_id kid = new_record("kid");
    eo_ids added = { 0 };
    int rc = eo_orm_link(A(0, F.env), A(1, F.m), F.ids[0], A(2, F.children), A(3, &kid), 1,
                         &added, err);
    if (rc == EO_OK)
        assert_int_equal(added.n, 1);
    eo_ids_free(&added);
    PRE(eo_orm_unlink(F.env, F.m, &kid, 1, &scratch_err));
    return rc;
}

static int c_orm_unlink_rel(int nul, eo_error *err)
{
    eo_id kid = new_record("kid");
    int rc;
    PRE(eo_orm_link(F.env, F.m, F.ids[0], F.children, &kid, 1, NULL, &scratch_err));
    rc = eo_orm_unlink_rel(A(0, F.env), A(1, F.m), F.ids[0], A(2, F.children), A(3, &kid), 1,
                           NULL, err);
    PRE(eo_orm_unlink(F.env, F.m, &kid, 1, &scratch_err));
    return rc;
}

static int c_orm_cache_set(int nul, eo_error *err)
{
    eo_value v = eo_int(2);
    int rc = eo_orm_cache_set(A(0, F.env), A(1, F.m), F.ids[0], A(2, F.dbl), A(3, &v), err);
    if (rc == EO_OK)
        assert_int_equal(eo_orm_peek(F.env, F.m, F.ids[0], F.dbl)->u.i, 2);
    return rc;
}

static int c_orm_peek(int nul, eo_error *err)
{
    eo_value v = eo_int(3);
    (void)err;
    PRE(eo_orm_cache_set(F.env, F.m, F.ids[0], F.dbl, &v, &scratch_err));
    if (nul < 0)
        assert_int_equal(eo_orm_peek(F.env, F.m, F.ids[0], F.dbl)->u.i, 3);
    else
        assert_null(eo_orm_peek(A(0, F.env), A(1, F.m), F.ids[0], A(2, F.dbl)));
    return 0;
}

static int c_orm_cached(int nul, eo_error *err)
{
    eo_value v = eo_int(3);
    (void)err;
    PRE(eo_orm_cache_set(F.env, F.m, F.ids[0], F.dbl, &v, &scratch_err));
    assert_int_equal(eo_orm_cached(A(0, F.env), A(1, F.m), F.ids[0], A(2, F.dbl)), nul < 0);
    return 0;
}

static int c_orm_invalidate(int nul, eo_error *err)
{
    eo_value v = eo_int(3);
    (void)err;
    PRE(eo_orm_cache_set(F.env, F.m, F.ids[0], F.dbl, &v, &scratch_err));
    eo_orm_invalidate(A(0, F.env), A(1, F.m), NULL, 0, NULL);
    assert_int_equal(eo_orm_cached(F.env, F.m, F.ids[0], F.dbl), nul >= 0);
    return 0;
}

/* ---- depends.h ---- */

static int c_model_add_check(int nul, eo_error *err)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    eo_check *c = (eo_check *)&c;
    const char *paths[1] = { "name" };
    int rc;
    PRE(eo_registry_new(&reg, &scratch_err));
    PRE(eo_registry_add_model(&m, reg, "api.checks", &scratch_err));
    rc = eo_model_add_check(&c, A(0, m), A(1, paths), 1, 0, err);
    assert_true(rc == EO_OK ? c != NULL && m->nchecks == 1 && c->index == 0 : c == NULL);
    eo_registry_free(reg);
    return rc;
}

static int c_deps_modified(int nul, eo_error *err)
{
    const eo_field *fields[1] = { F.name };
    return eo_deps_modified(A(0, F.env), A(1, F.m), A(2, F.ids), 1, A(3, fields), 1, 0, err);
}

static int c_deps_next(int nul, eo_error *err)
{
    eo_dep_work w;
    int rc = eo_deps_next(A(0, F.env), A(1, &w), err);
    if (rc == EO_OK) {
        assert_int_equal(w.n, 0); /* nothing in api.item depends on anything */
        eo_free(w.ids);
    }
    return rc;
}

static int c_deps_take(int nul, eo_error *err)
{
    eo_dep_work w;
    int rc = eo_deps_take(A(0, F.env), A(1, F.m), A(2, F.dbl), F.ids, 2, A(3, &w), err);
    if (rc == EO_OK) {
        assert_int_equal(w.n, 0);
        eo_free(w.ids);
    }
    return rc;
}

static int c_deps_done(int nul, eo_error *err)
{
    (void)err;
    eo_deps_done(A(0, F.env), A(1, F.m), F.dbl, NULL, A(2, F.ids), 2);
    return 0;
}

static int c_deps_is_marked(int nul, eo_error *err)
{
    (void)err;
    assert_int_equal(eo_deps_is_marked(A(0, F.env), A(1, F.m), F.ids[0], A(2, F.dbl)), 0);
    return 0;
}

static int c_deps_pending(int nul, eo_error *err)
{
    (void)err;
    assert_int_equal(eo_deps_pending(A(0, F.env)), 0);
    return 0;
}

static int c_deps_watched(int nul, eo_error *err)
{
    (void)err;
    assert_int_equal(eo_deps_watched(A(0, F.m), F.name), 0);
    return 0;
}

static int c_orm_exists(int nul, eo_error *err)
{
    eo_ids out = { 0 };
    eo_id some[3];
    int rc;
    some[0] = F.ids[1];
    some[1] = eo_id_num(987654);
    some[2] = F.ids[0];
    rc = eo_orm_exists(A(0, F.env), A(1, F.m), A(2, some), 3, A(3, &out), err);
    if (rc == EO_OK)
        assert_true(out.n == 2 && eo_id_equal(out.v[0], F.ids[1]));
    eo_ids_free(&out);
    return rc;
}

static int c_orm_group(int nul, eo_error *err)
{
    eo_group_query q, nomodel;
    eo_group_key key;
    int rows = 0, rc;
    memset(&q, 0, sizeof q);
    key.field = F.name;
    key.gran = EO_GRAN_NONE;
    key.name = "name";
    q.model = F.m;
    q.keys = &key;
    q.nkeys = 1;
    q.limit = -1;
    nomodel = q;
    nomodel.model = NULL;
    rc = eo_orm_group(A(0, F.env), A(1, nul == 2 ? &nomodel : &q), NULL, A(3, count_rows), &rows,
                      err);
    if (rc == EO_OK)
        assert_true(rows >= 2);
    return rc;
}

static int c_orm_explain(int nul, eo_error *err)
{
    char *out = (char *)&out;
    int rc = eo_orm_explain(A(0, F.env), A(1, F.m), NULL, NULL, -1, 0, A(2, &out), err);
    if (rc == EO_OK)
        assert_non_null(strstr(out, "model: api.item"));
    else if (nul != 2)
        assert_null(out);
    if (rc == EO_OK)
        eo_free(out);
    return rc;
}

/* ---- domain.h ---- */

static int c_dop_parse(int nul, eo_error *err)
{
    eo_dop op = EO_OP_EQ;
    (void)err;
    assert_int_equal(eo_dop_parse(A(0, &op), A(1, "not in"), 6), nul < 0 ? EO_OK : EO_EINVAL);
    if (nul < 0)
        assert_int_equal(op, EO_OP_NOT_IN);
    return 0;
}

static int c_dop_name(int nul, eo_error *err)
{
    (void)nul; (void)err;
    assert_string_equal(eo_dop_name(EO_OP_NOT_ILIKE), "not ilike");
    assert_string_equal(eo_dop_name((eo_dop)99), "?");
    return 0;
}

static int c_dbuilder_new(int nul, eo_error *err)
{
    eo_dbuilder *b = NULL;
    int rc = eo_dbuilder_new(A(0, &b), err);
    eo_dbuilder_free(b);
    return rc;
}

static int c_dbuilder_free(int nul, eo_error *err)
{
    eo_dbuilder *b = NULL;
    (void)err;
    if (nul < 0)
        PRE(eo_dbuilder_new(&b, &scratch_err));
    eo_dbuilder_free(b);
    return 0;
}

static int c_dbuilder_op(int nul, eo_error *err)
{
    eo_dbuilder *b = NULL;
    int rc;
    PRE(eo_dbuilder_new(&b, &scratch_err));
    rc = eo_dbuilder_op(A(0, b), '|', err);
    eo_dbuilder_free(b);
    return rc;
}

static int c_dbuilder_leaf(int nul, eo_error *err)
{
    eo_dbuilder *b = NULL;
    eo_value v = eo_cstr("x");
    int rc;
    PRE(eo_dbuilder_new(&b, &scratch_err));
    rc = eo_dbuilder_leaf(A(0, b), A(1, "name"), A(2, "="), A(3, &v), err);
    eo_dbuilder_free(b);
    return rc;
}

static int c_dbuilder_leaf_list(int nul, eo_error *err)
{
    eo_dbuilder *b = NULL;
    eo_value v[2];
    int rc;
    v[0] = eo_cstr("x");
    v[1] = eo_cstr("y");
    PRE(eo_dbuilder_new(&b, &scratch_err));
    rc = eo_dbuilder_leaf_list(A(0, b), A(1, "name"), A(2, "in"), A(3, v), 2, err);
    eo_dbuilder_free(b);
    return rc;
}

static int c_dbuilder_leaf_sub(int nul, eo_error *err)
{
    eo_dbuilder *b = NULL;
    eo_domain *sub = NULL;
    int rc;
    PRE(eo_dbuilder_new(&b, &scratch_err));
    PRE(eo_domain_new_true(&sub, &scratch_err));
    /* sub is consumed whatever the result: ASan reports a leak otherwise */
    rc = eo_dbuilder_leaf_sub(A(0, b), A(1, "parent_id"), A(2, "any"), A(3, sub), err);
    if (nul == 3)
        eo_domain_free(sub);
    eo_dbuilder_free(b);
    return rc;
}

static int c_dbuilder_finish(int nul, eo_error *err)
{
    eo_dbuilder *b = NULL;
    eo_domain *d = (eo_domain *)&d;
    int rc;
    PRE(eo_dbuilder_new(&b, &scratch_err));
    /* b is freed whatever the result (here: unless it was left out) */
    rc = eo_dbuilder_finish(A(0, &d), A(1, b), err);
    if (nul == 1)
        eo_dbuilder_free(b);
    if (nul != 0) {
        assert_true(rc == EO_OK ? d != NULL : d == NULL);
        eo_domain_free(d);
    }
    return rc;
}

static int c_domain_from_json(int nul, eo_error *err)
{
    static const char json[] = "[\"|\", [\"name\", \"=\", 1], [\"name\", \"=\", 2]]";
    eo_domain *d = (eo_domain *)&d;
    int rc = eo_domain_from_json(A(0, &d), A(1, json), strlen(json), err);
    if (nul != 0) {
        assert_true(rc == EO_OK ? d != NULL : d == NULL);
        eo_domain_free(d);
    }
    return rc;
}

static int c_domain_new_true(int nul, eo_error *err)
{
    eo_domain *d = NULL;
    int rc = eo_domain_new_true(A(0, &d), err);
    if (rc == EO_OK)
        assert_true(eo_domain_is_true(d));
    eo_domain_free(d);
    return rc;
}

static int c_domain_free(int nul, eo_error *err)
{
    eo_domain *d = NULL;
    (void)err;
    if (nul < 0)
        PRE(eo_domain_new_true(&d, &scratch_err));
    eo_domain_free(d);
    return 0;
}

static int c_domain_bind(int nul, eo_error *err)
{
    static const char json[] = "[[\"name\", \"=\", \"x\"]]";
    eo_domain *d = NULL;
    int rc;
    PRE(eo_domain_from_json(&d, json, strlen(json), &scratch_err));
    rc = eo_domain_bind(A(0, d), A(1, F.m), err);
    if (rc == EO_OK)
        assert_ptr_equal(eo_domain_model(d), F.m);
    eo_domain_free(d);
    return rc;
}

static int c_domain_set_active_test(int nul, eo_error *err)
{
    eo_domain *d = NULL;
    int rc;
    PRE(eo_domain_new_true(&d, &scratch_err));
    rc = eo_domain_set_active_test(A(0, d), 1, err);
    if (rc == EO_OK) /* api.item has no active field: nothing to add */
        PRE(eo_domain_bind(d, F.m, &scratch_err));
    eo_domain_free(d);
    return rc;
}

/* the four readers of a domain, on one built here */
static int domain_reader(int nul, int which)
{
    eo_domain *d = NULL;
    PRE(eo_domain_new_true(&d, &scratch_err));
    switch (which) {
    case 0: assert_ptr_equal(eo_domain_root(A(0, d)) != NULL, nul < 0); break;
    case 1: assert_int_equal(eo_domain_is_false(A(0, d)), 0); break;
    case 2: assert_int_equal(eo_domain_is_true(A(0, d)), 1); break; /* NULL matches all */
    default: assert_null(eo_domain_model(A(0, d))); break;
    }
    eo_domain_free(d);
    return 0;
}
static int c_domain_root(int nul, eo_error *err) { (void)err; return domain_reader(nul, 0); }
static int c_domain_is_false(int nul, eo_error *err) { (void)err; return domain_reader(nul, 1); }
static int c_domain_is_true(int nul, eo_error *err) { (void)err; return domain_reader(nul, 2); }
static int c_domain_model(int nul, eo_error *err) { (void)err; return domain_reader(nul, 3); }

static int c_domain_to_string(int nul, eo_error *err)
{
    static const char json[] = "[[\"name\", \"=\", \"x\"]]";
    eo_domain *d = NULL;
    char *s = (char *)&s;
    int rc;
    PRE(eo_domain_from_json(&d, json, strlen(json), &scratch_err));
    rc = eo_domain_to_string(A(0, &s), A(1, d), err);
    if (rc == EO_OK) {
        assert_non_null(strstr(s, "name"));
        eo_free(s);
    } else if (nul != 0) {
        assert_null(s);
    }
    eo_domain_free(d);
    return rc;
}

static int c_like_escape(int nul, eo_error *err)
{
    char *out = (char *)&out;
    size_t n = 99;
    int rc = eo_like_escape(A(0, &out), &n, A(1, "a%_"), 3, err);
    if (rc == EO_OK) {
        assert_string_equal(out, "a\\%\\_");
        assert_int_equal(n, 5);
        eo_free(out);
    } else {
        assert_int_equal(n, nul == 0 ? 99 : 0);
    }
    return rc;
}

/* ---- engine.h ---- */

static int c_engine_open(int nul, eo_error *err)
{
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_engine *eng = (eo_engine *)&eng;
    int rc;
    cfg.database_url = "sqlite::memory:";
    rc = eo_engine_open(A(0, &eng), &cfg, err);
    if (nul != 0) {
        assert_true(rc == EO_OK ? eng != NULL : eng == NULL);
        eo_engine_close(eng);
    }
    return rc;
}

static int c_engine_close(int nul, eo_error *err)
{
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    eo_engine *eng = NULL;
    (void)err;
    cfg.database_url = "sqlite::memory:";
    if (nul < 0)
        PRE(eo_engine_open(&eng, &cfg, &scratch_err));
    eo_engine_close(eng);
    return 0;
}

static int c_engine_load_models(int nul, eo_error *err)
{
    static int nloads; /* each successful call loads a model not loaded yet */
    char dir[700], path[800], text[200];
    if (nul >= 0)
        return eo_engine_load_models(A(0, F.eng), A(1, F.models), err);
    snprintf(dir, sizeof dir, "%s/more%d", F.dir, ++nloads);
    if (mkdir(dir, 0700) != 0)
        fail_msg("mkdir %s", dir);
    snprintf(text, sizeof text,
             "local orm = require \"earnorm\"\n"
             "return orm.model(\"api.more%d\", { name = orm.fields.Char{} })\n", nloads);
    th_write_file(path, sizeof path, dir, "more.lua", text);
    return eo_engine_load_models(F.eng, dir, err);
}

static int c_engine_migrate(int nul, eo_error *err)
{
    return eo_engine_migrate(A(0, F.eng), err);
}

static int c_create_json(int nul, eo_error *err)
{
    char *ids = NULL;
    int rc = eo_create_json(A(0, F.eng), A(1, "api.note"), A(2, "[{\"name\": \"n\"}]"), &ids, err);
    if (rc == EO_OK)
        assert_true(ids && ids[0] == '[');
    else
        assert_null(ids);
    eo_free(ids);
    return rc;
}

static int c_search_read_json(int nul, eo_error *err)
{
    char *rows = (char *)&rows;
    int rc = eo_search_read_json(A(0, F.eng), A(1, "api.note"), "[]", "{\"limit\": 1}",
                                 A(2, &rows), err);
    if (rc == EO_OK)
        assert_true(rows && rows[0] == '[');
    if (rc == EO_OK)
        eo_free(rows);
    return rc;
}

static int c_read_json(int nul, eo_error *err)
{
    char *rows = NULL;
    int rc = eo_read_json(A(0, F.eng), A(1, "api.note"), A(2, "[1]"), NULL, A(3, &rows), err);
    eo_free(rows);
    return rc;
}

static int c_search_count_json(int nul, eo_error *err)
{
    long long n = -1;
    int rc = eo_search_count_json(A(0, F.eng), A(1, "api.note"), NULL, A(2, &n), err);
    if (rc == EO_OK)
        assert_true(n >= 0);
    return rc;
}

static int c_write_json(int nul, eo_error *err)
{
    return eo_write_json(A(0, F.eng), A(1, "api.note"), A(2, "[1]"), A(3, "{\"name\": \"w\"}"),
                         err);
}

static int c_unlink_json(int nul, eo_error *err)
{
    char *ids = NULL;
    int rc;
    PRE(eo_create_json(F.eng, "api.note", "{\"name\": \"gone\"}", &ids, &scratch_err));
    rc = eo_unlink_json(A(0, F.eng), A(1, "api.note"), A(2, ids), err);
    eo_free(ids);
    return rc;
}

static int c_engine_eval(int nul, eo_error *err)
{
    char *out = NULL;
    int rc = eo_engine_eval(A(0, F.eng), A(1, "return 6 * 7"), &out, err);
    if (rc == EO_OK)
        assert_string_equal(out, "42");
    eo_free(out);
    return rc;
}

static int c_engine_begin(int nul, eo_error *err)
{
    int rc = eo_engine_begin(A(0, F.eng), NULL, err);
    if (rc == EO_OK)
        PRE(eo_engine_rollback(F.eng, &scratch_err));
    return rc;
}

static int c_engine_commit(int nul, eo_error *err)
{
    if (nul < 0)
        PRE(eo_engine_begin(F.eng, NULL, &scratch_err));
    return eo_engine_commit(A(0, F.eng), err);
}

static int c_engine_rollback(int nul, eo_error *err)
{
    if (nul < 0)
        PRE(eo_engine_begin(F.eng, NULL, &scratch_err));
    return eo_engine_rollback(A(0, F.eng), err);
}

static int c_engine_ping(int nul, eo_error *err)
{
    char *out = NULL;
    int rc = eo_engine_ping(A(0, F.eng), A(1, &out), err);
    if (rc == EO_OK)
        assert_non_null(strstr(out, "\"ok\""));
    eo_free(out);
    return rc;
}

static int c_engine_stats(int nul, eo_error *err)
{
    char *out = NULL;
    int rc = eo_engine_stats(A(0, F.eng), A(1, &out), err);
    eo_free(out);
    return rc;
}

/* ---- pool.h ---- */

static int c_pool_new(int nul, eo_error *err)
{
    eo_pool *p = (eo_pool *)&p;
    int rc = eo_pool_new(A(0, &p), A(1, "sqlite::memory:"), NULL, err);
    if (nul != 0) {
        assert_true(rc == EO_OK ? p != NULL : p == NULL);
        eo_pool_unref(p);
    }
    return rc;
}

static int c_pool_ref(int nul, eo_error *err)
{
    (void)err;
    eo_pool_ref(A(0, F.pool));
    if (nul < 0)
        eo_pool_unref(F.pool);
    return 0;
}

static int c_pool_unref(int nul, eo_error *err)
{
    (void)err;
    if (nul < 0)
        eo_pool_ref(F.pool);
    eo_pool_unref(A(0, F.pool));
    return 0;
}

static int c_pool_acquire(int nul, eo_error *err)
{
    eo_conn *c = (eo_conn *)&c;
    int rc = eo_pool_acquire(A(0, F.pool), A(1, &c), err);
    if (nul != 1)
        assert_true(rc == EO_OK ? c != NULL : c == NULL);
    if (rc == EO_OK)
        eo_pool_release(F.pool, c);
    return rc;
}

static int c_pool_release(int nul, eo_error *err)
{
    eo_conn *c = NULL;
    (void)err;
    PRE(eo_pool_acquire(F.pool, &c, &scratch_err));
    eo_pool_release(A(0, F.pool), A(1, c));
    if (nul >= 0)
        eo_pool_release(F.pool, c); /* the misuse gave nothing back */
    return 0;
}

static int c_pool_get_stats(int nul, eo_error *err)
{
    eo_pool_stats st;
    (void)err;
    memset(&st, 0x5a, sizeof st);
    eo_pool_get_stats(A(0, F.pool), A(1, &st));
    if (nul == 0)
        assert_int_equal(st.acquires, 0);
    else if (nul < 0)
        assert_int_equal(st.max_size, 1); /* sqlite::memory: */
    return 0;
}

static int c_pool_adapter(int nul, eo_error *err)
{
    (void)err;
    assert_ptr_equal(eo_pool_adapter(A(0, F.pool)), nul < 0 ? eo_adapter_find("sqlite") : NULL);
    return 0;
}

static int c_pool_url(int nul, eo_error *err)
{
    (void)err;
    if (nul < 0)
        assert_string_equal(eo_pool_url(F.pool), "sqlite::memory:");
    else
        assert_null(eo_pool_url(NULL));
    return 0;
}

/* ---- query.h ---- */

static int c_order_parse(int nul, eo_error *err)
{
    eo_order_item *items = (eo_order_item *)&items;
    size_t n = 99;
    int rc = eo_order_parse(A(0, &items), A(1, &n), A(2, F.m), "name desc, id", err);
    if (rc == EO_OK) {
        assert_true(n == 2 && items[0].field == F.name && items[0].desc);
        eo_free(items);
    } else if (nul != 0) {
        assert_null(items);
        if (nul != 1)
            assert_int_equal(n, 0);
    }
    return rc;
}

/* ---- value.h ---- */

static int c_value_copy(int nul, eo_error *err)
{
    eo_value src = eo_cstr("abc"), out = eo_int(5);
    (void)err;
    assert_int_equal(eo_value_copy(A(0, &out), A(1, &src)), nul < 0 ? EO_OK : EO_EINVAL);
    if (nul < 0)
        assert_true(out.owned && eo_value_equal(&out, &src));
    else if (nul == 1)
        assert_int_equal(out.type, EO_VNULL);
    eo_value_clear(&out);
    return 0;
}

static int c_value_clear(int nul, eo_error *err)
{
    eo_value src = eo_cstr("abc"), v;
    (void)err;
    eo_value_copy(&v, &src);
    eo_value_clear(A(0, &v));
    if (nul == 0)
        eo_value_clear(&v);
    assert_int_equal(v.type, EO_VNULL);
    return 0;
}

static int c_value_equal_case(int nul, eo_error *err)
{
    eo_value a = eo_int(1), b = eo_int(1), null = eo_null();
    (void)err;
    /* a NULL pointer reads as the NULL value */
    assert_int_equal(eo_value_equal(A(0, &a), A(1, &b)), nul < 0);
    assert_int_equal(eo_value_equal(NULL, &null), 1);
    return 0;
}

static int c_value_compare(int nul, eo_error *err)
{
    eo_value a = eo_int(1), b = eo_int(2);
    (void)err;
    /* NULL sorts first, so a missing a is below b, a missing b below a */
    assert_int_equal(eo_value_compare(A(0, &a), A(1, &b)), nul == 1 ? 1 : -1);
    return 0;
}

static int c_vtype_name(int nul, eo_error *err)
{
    (void)nul; (void)err;
    assert_string_equal(eo_vtype_name(EO_VBLOB), "binary");
    return 0;
}

static int c_id_num(int nul, eo_error *err)
{
    eo_id id = eo_id_num(5);
    (void)nul; (void)err;
    assert_true(id.num == 5 && id.w[1] == 0);
    return 0;
}

static int c_id_equal(int nul, eo_error *err)
{
    (void)nul; (void)err;
    assert_true(eo_id_equal(eo_id_num(3), eo_id_num(3)));
    assert_false(eo_id_equal(eo_id_num(3), eo_id_num(4)));
    return 0;
}

static int c_id_hash(int nul, eo_error *err)
{
    (void)nul; (void)err;
    assert_true(eo_id_hash(eo_id_num(1)) != eo_id_hash(eo_id_num(2)));
    return 0;
}

static int c_id_to_value(int nul, eo_error *err)
{
    char hex[25];
    eo_id id;
    eo_value v;
    (void)err;
    memset(&id, 0, sizeof id);
    id.oid[11] = 0xab;
    v = eo_id_to_value(id, EO_IDOID, A(0, hex));
    if (nul < 0)
        assert_true(v.type == EO_VTEXT && v.u.s.n == 24 && strcmp(hex + 22, "ab") == 0);
    else
        assert_int_equal(v.type, EO_VNULL);
    return 0;
}

static int c_id_from_value(int nul, eo_error *err)
{
    eo_value v = eo_cstr("17");
    eo_id id = eo_id_num(99);
    (void)err;
    assert_int_equal(eo_id_from_value(A(0, &id), EO_IDNUM, A(1, &v)), nul < 0 ? EO_OK : EO_EINVAL);
    assert_int_equal(id.num, nul < 0 ? 17 : nul == 1 ? 0 : 99);
    return 0;
}

/* ---- sys/adapter.h ---- */

static int c_url_parse(int nul, eo_error *err)
{
    eo_url u;
    int rc;
    memset(&u, 0x5a, sizeof u);
    rc = eo_url_parse(A(0, &u), A(1, "sqlite://x.db?timeout=5"), err);
    if (rc == EO_OK) {
        assert_string_equal(u.scheme, "sqlite");
        assert_string_equal(eo_url_opt(&u, "timeout"), "5");
        eo_url_free(&u);
    } else if (nul == 1) {
        assert_null(u.path); /* zeroed: nothing to free */
    }
    return rc;
}

static int c_url_free(int nul, eo_error *err)
{
    eo_url u;
    (void)err;
    PRE(eo_url_parse(&u, "postgresql://a:b@h/db", &scratch_err));
    eo_url_free(A(0, &u));
    if (nul == 0)
        eo_url_free(&u);
    assert_null(u.host);
    return 0;
}

static int c_url_opt(int nul, eo_error *err)
{
    eo_url u;
    const char *v;
    (void)err;
    PRE(eo_url_parse(&u, "sqlite://x.db?timeout=5", &scratch_err));
    v = eo_url_opt(A(0, &u), A(1, "timeout"));
    if (nul < 0)
        assert_string_equal(v, "5");
    else
        assert_null(v);
    eo_url_free(&u);
    return 0;
}

static int c_adapter_register(int nul, eo_error *err)
{
    static eo_adapter copy, noscheme;
    copy = *eo_adapter_find("sqlite");
    copy.scheme = "apitest";
    noscheme = copy;
    noscheme.scheme = NULL;
    return eo_adapter_register(A(0, nul == 1 ? &noscheme : &copy), err);
}

static int c_adapter_find(int nul, eo_error *err)
{
    const eo_adapter *a = eo_adapter_find(A(0, "postgres"));
    (void)err;
    if (nul < 0)
        assert_string_equal(a->name, "postgresql");
    else
        assert_null(a);
    return 0;
}

#define EO(fn, args) { "eo_" #fn, K_ERR, args, c_##fn }
#define PO(fn, args) { "eo_" #fn, K_PLAIN, args, c_##fn }

static const api_case cases[] = {
    /* common.h, alloc.h */
    PO(version, ""),
    PO(set_allocator, ""),
    PO(malloc, ""),
    PO(calloc, ""),
    PO(realloc, ""),
    PO(free, "p"),
    PO(strdup, "s"),
    PO(strndup, "s"),
    /* error.h */
    PO(strerror, ""),
    PO(code_name, ""),
    EO(error_clear, ""),
    { "eo_error_set", K_SELF, "", c_error_set },
    PO(error_where, ""),
    /* model.h */
    EO(registry_new, "out"),
    PO(registry_free, "reg"),
    EO(registry_add_model, "out,reg,name"),
    PO(registry_find, "reg,name"),
    PO(registry_count, "reg"),
    PO(registry_at, "reg"),
    PO(registry_version, "reg"),
    EO(registry_resolve, "reg"),
    EO(model_set, "m"),
    EO(model_add_field, "m,spec,spec->name"),
    EO(model_set_indexes, "m,specs"),
    EO(model_log_access, "m"),
    EO(model_versioned, "m"),
    EO(model_track, "m,name"),
    PO(model_field, "m,name"),
    PO(model_active_field, "m"),
    PO(ftype_name, ""),
    PO(ftype_from_name, "name"),
    EO(field_convert, "f,in,out,scratch"),
    /* embedded.h */
    EO(registry_add_embedded, "out,reg,name"),
    PO(registry_find_embedded, "reg,name"),
    EO(embedded_normalize, "out,f,json"),
    /* env.h */
    EO(env_open, "out,reg"),
    PO(env_free, "env"),
    PO(env_registry, "env"),
    PO(env_pool, "env"),
    PO(env_backend, "env"),
    PO(env_idkind, "env"),
    PO(env_url, "env"),
    EO(env_begin, "env"),
    EO(env_commit, "env"),
    EO(env_rollback, "env"),
    PO(env_txn_depth, "env"),
    EO(env_atomic_begin, "env"),
    EO(env_atomic_end, "env"),
    PO(env_caps, "env"),
    PO(env_server, "env"),
    PO(env_prefetch_max, "env"),
    PO(env_stats, "env,out"),
    PO(env_reset_stats, "env"),
    PO(env_set_query_log, "env"),
    EO(env_migrate, "env"),
    EO(env_ping, "env"),
    PO(env_invalidate_all, "env"),
    /* depends.h */
    EO(model_add_check, "m,depends"),
    EO(deps_modified, "env,m,ids,fields"),
    EO(deps_next, "env,w"),
    EO(deps_take, "env,m,f,w"),
    PO(deps_done, "env,m,ids"),
    PO(deps_is_marked, "env,m,f"),
    PO(deps_pending, "env"),
    PO(deps_watched, "m"),
    /* orm.h */
    PO(ids_push, "ids"),
    PO(ids_free, "ids"),
    EO(orm_create, "env,m,row,out_ids"),
    EO(orm_write, "env,m,ids,kvs"),
    EO(orm_write_each, "env,m,ids,f,vals"),
    EO(orm_unlink, "env,m,ids"),
    EO(orm_search, "env,m,out"),
    EO(orm_cursor_open, "out,env,m"),
    EO(orm_cursor_next, "cur,out"),
    PO(orm_cursor_done, "cur"),
    PO(orm_cursor_close, "cur"),
    EO(orm_search_count, "env,m,out"),
    EO(orm_search_fetch, "env,m,out"),
    EO(orm_search_rows, "env,m,fn"),
    EO(orm_read_rows, "env,m,ids,fields,fn"),
    EO(orm_get, "env,m,f,prefetch,out"),
    EO(orm_get_ids, "env,m,f,prefetch,out,n"),
    EO(orm_link, "env,m,f,targets"),
    EO(orm_unlink_rel, "env,m,f,targets"),
    EO(orm_cache_set, "env,m,f,v"),
    PO(orm_peek, "env,m,f"),
    PO(orm_cached, "env,m,f"),
    PO(orm_invalidate, "env,m"),
    EO(orm_exists, "env,m,ids,out"),
    EO(orm_group, "env,q,q->model,fn"),
    EO(orm_explain, "env,m,out"),
    /* domain.h */
    PO(dop_parse, "out,s"),
    PO(dop_name, ""),
    EO(dbuilder_new, "out"),
    PO(dbuilder_free, "b"),
    EO(dbuilder_op, "b"),
    EO(dbuilder_leaf, "b,path,op,value"),
    EO(dbuilder_leaf_list, "b,path,op,values"),
    EO(dbuilder_leaf_sub, "b,path,op,sub"),
    EO(dbuilder_finish, "out,b"),
    EO(domain_from_json, "out,json"),
    EO(domain_new_true, "out"),
    PO(domain_free, "d"),
    EO(domain_bind, "d,model"),
    EO(domain_set_active_test, "d"),
    PO(domain_root, "d"),
    PO(domain_is_false, "d"),
    PO(domain_is_true, "d"),
    PO(domain_model, "d"),
    EO(domain_to_string, "out,d"),
    EO(like_escape, "out,s"),
    /* engine.h */
    EO(engine_open, "out"),
    PO(engine_close, "eng"),
    EO(engine_load_models, "eng,path"),
    EO(engine_migrate, "eng"),
    EO(create_json, "eng,model,vals_json"),
    EO(search_read_json, "eng,model,out_rows"),
    EO(read_json, "eng,model,ids_json,out_rows"),
    EO(search_count_json, "eng,model,out"),
    EO(write_json, "eng,model,ids_json,vals_json"),
    EO(unlink_json, "eng,model,ids_json"),
    EO(engine_eval, "eng,code"),
    EO(engine_begin, "eng"),
    EO(engine_commit, "eng"),
    EO(engine_rollback, "eng"),
    EO(engine_ping, "eng,out_json"),
    EO(engine_stats, "eng,out_json"),
    /* pool.h */
    EO(pool_new, "out,url"),
    PO(pool_ref, "p"),
    PO(pool_unref, "p"),
    EO(pool_acquire, "p,out"),
    PO(pool_release, "p,c"),
    PO(pool_get_stats, "p,out"),
    PO(pool_adapter, "p"),
    PO(pool_url, "p"),
    /* query.h */
    EO(order_parse, "out,n,m"),
    /* value.h */
    PO(value_copy, "out,src"),
    PO(value_clear, "v"),
    { "eo_value_equal", K_PLAIN, "a,b", c_value_equal_case },
    PO(value_compare, "a,b"),
    PO(vtype_name, ""),
    PO(id_num, ""),
    PO(id_equal, ""),
    PO(id_hash, ""),
    PO(id_to_value, "hexbuf"),
    PO(id_from_value, "out,v"),
    /* sys/adapter.h */
    EO(url_parse, "out,text"),
    PO(url_free, "u"),
    PO(url_opt, "u,key"),
    EO(adapter_register, "a,a->scheme"),
    PO(adapter_find, "scheme"),
};

#define NCASES (sizeof cases / sizeof cases[0])

/* the i-th name of a comma-separated list into buf; 0 when there is none */
static int arg_name(const char *args, int i, char *buf, size_t cap)
{
    const char *p = args;
    size_t n;
    while (i-- > 0) {
        p = strchr(p, ',');
        if (p == NULL)
            return 0;
        p++;
    }
    if (*p == '\0')
        return 0;
    n = strcspn(p, ",");
    snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
    return 1;
}

static void assert_cleared(const api_case *c, const eo_error *err)
{
    if (err->code != EO_OK || err->domain != EO_DOMAIN_NONE || err->native != 0 ||
        err->msg[0] || err->field[0] || err->model[0])
        fail_msg("%s succeeded but left err as code %d domain %d native %d msg \"%.60s\"", c->name,
                 err->code, err->domain, err->native, err->msg);
}

/* ---- the tests -------------------------------------------------------- */

/* Every EO_API function in the headers is in the table, and nothing else. */
static void test_api_contract__table_covers_every_header_function(void **state)
{
    static const char *const headers[] = {
        "alloc.h", "common.h", "domain.h", "earnorm.h", "engine.h", "env.h", "error.h",
        "model.h", "orm.h", "pool.h", "query.h", "value.h", "sys/adapter.h", "depends.h",
        "embedded.h",
    };
    const char *src = getenv("EARNORM_SOURCE_DIR");
    char path[1024], line[1024], seen_in[NCASES];
    size_t h, i, found = 0, listed = 0;
    DIR *dir;
    struct dirent *e;
    (void)state;
    if (src == NULL)
        fail_msg("EARNORM_SOURCE_DIR is not set (ctest sets it)");
    memset(seen_in, 0, sizeof seen_in);
    /* a new header must be added to the list above */
    snprintf(path, sizeof path, "%s/core/include/earnorm", src);
    dir = opendir(path);
    assert_non_null(dir);
    while ((e = readdir(dir)) != NULL) {
        size_t n = strlen(e->d_name);
        int known = 0;
        if (n < 3 || strcmp(e->d_name + n - 2, ".h") != 0)
            continue;
        for (h = 0; h < sizeof headers / sizeof headers[0]; h++)
            known |= strcmp(headers[h], e->d_name) == 0;
        if (!known)
            fail_msg("header %s is not scanned by this test: add it to headers[]", e->d_name);
    }
    closedir(dir);
    for (h = 0; h < sizeof headers / sizeof headers[0]; h++) {
        FILE *fp;
        snprintf(path, sizeof path, "%s/core/include/earnorm/%s", src, headers[h]);
        fp = fopen(path, "r");
        if (fp == NULL)
            fail_msg("cannot read %s", path);
        /* "EO_API <type> name(" on one line, as every declaration is written */
        while (fgets(line, sizeof line, fp)) {
            char *p = line, *paren, *end, *start;
            int hit = 0;
            while (*p == ' ' || *p == '\t')
                p++;
            if (strncmp(p, "EO_API ", 7) != 0)
                continue;
            paren = strchr(p, '(');
            if (paren == NULL)
                fail_msg("%s: cannot read the declaration \"%s\"", headers[h], p);
            end = paren;
            while (end > p && end[-1] == ' ')
                end--;
            start = end;
            while (start > p && (start[-1] == '_' || isalnum((unsigned char)start[-1])))
                start--;
            *end = '\0';
            found++;
            for (i = 0; i < NCASES; i++) {
                if (strcmp(cases[i].name, start) == 0) {
                    hit = 1;
                    seen_in[i] = 1;
                }
            }
            if (!hit)
                fail_msg("%s declares %s, which is missing from the table in "
                         "tests/c/test_api_contract.c: add its success and NULL-argument calls",
                         headers[h], start);
        }
        fclose(fp);
    }
    for (i = 0; i < NCASES; i++) {
        if (!seen_in[i])
            fail_msg("%s is in the table but no header declares it", cases[i].name);
        listed++;
    }
    assert_int_equal(found, listed);
    print_message("# %zu public functions, each in the table\n", found);
}

/* (a) a successful call clears a garbage-filled eo_error, and NULL err is fine. */
static void test_api_contract__success_clears_err(void **state)
{
    size_t i;
    eo_error err;
    (void)state;
    for (i = 0; i < NCASES; i++) {
        const api_case *c = &cases[i];
        int rc;
        if (c->kind == K_PLAIN) {
            c->call(-1, NULL);
            continue;
        }
        if (c->kind == K_SELF) {
            c->call(-1, &err);
            c->call(-1, NULL);
            continue;
        }
        memset(&err, 0x5a, sizeof err);
        rc = c->call(-1, &err);
        if (rc != EO_OK)
            fail_msg("%s: the successful call failed: %s: %s", c->name, eo_code_name(rc), err.msg);
        assert_cleared(c, &err);
        /* after a real failure too: the -4 of an earlier call must go */
        eo_error_set(&err, EO_ENOTFOUND, "an earlier failure");
        eo_error_where(&err, "api.item", "name");
        rc = c->call(-1, &err);
        if (rc != EO_OK)
            fail_msg("%s: the successful call failed: %s: %s", c->name, eo_code_name(rc), err.msg);
        assert_cleared(c, &err);
        if ((rc = c->call(-1, NULL)) != EO_OK)
            fail_msg("%s: the successful call failed with err NULL: %s", c->name,
                     eo_code_name(rc));
    }
}

/* (b) each NULL required argument: EO_EINVAL "<function>: <arg> is NULL", no crash. */
static void test_api_contract__null_arguments_are_einval(void **state)
{
    size_t i;
    int a, checked = 0;
    char arg[64], want[160];
    eo_error err;
    (void)state;
    for (i = 0; i < NCASES; i++) {
        const api_case *c = &cases[i];
        for (a = 0; arg_name(c->args, a, arg, sizeof arg); a++) {
            int rc;
            checked++;
            if (c->kind != K_ERR) {
                c->call(a, NULL); /* checks its own result */
                continue;
            }
            memset(&err, 0x5a, sizeof err);
            rc = c->call(a, &err);
            snprintf(want, sizeof want, "%s: %s is NULL", c->name, arg);
            if (rc != EO_EINVAL || err.code != EO_EINVAL)
                fail_msg("%s with %s NULL: expected EINVAL, got %s (err.code %d): %.80s", c->name,
                         arg, eo_code_name(rc), err.code, err.msg);
            if (strcmp(err.msg, want) != 0)
                fail_msg("%s with %s NULL: message \"%s\", expected \"%s\"", c->name, arg,
                         err.msg, want);
            assert_int_equal(err.domain, EO_DOMAIN_CORE);
            assert_string_equal(err.field, "");
            /* and with err NULL as well */
            assert_int_equal(c->call(a, NULL), EO_EINVAL);
        }
    }
    print_message("# %d NULL arguments refused or accepted as documented\n", checked);
}

/* The reproducers of the issue, spelt out. */
static void test_api_contract__known_offenders(void **state)
{
    eo_registry *reg = NULL;
    eo_error err;
    (void)state;
    memset(&err, 0x5a, sizeof err);
    assert_eo_ok(eo_registry_new(&reg, &err), &err);
    assert_int_equal(err.code, EO_OK); /* was 1515870810 */
    eo_registry_free(reg);
    assert_eo_ok(eo_env_begin(F.env, EO_ISO_DEFAULT, &err), &err);
    memset(&err, 0x5a, sizeof err);
    assert_eo_ok(eo_env_commit(F.env, &err), &err);
    assert_int_equal(err.code, EO_OK);
    assert_string_equal(err.msg, "");
    assert_eo_error(eo_env_commit(NULL, &err), &err, EO_EINVAL, "eo_env_commit: env is NULL");
    /* a failure, then a success with the same struct */
    assert_eo_error(eo_env_commit(F.env, &err), &err, EO_ETXNSTATE, "outside a transaction");
    assert_eo_ok(eo_env_begin(F.env, EO_ISO_DEFAULT, &err), &err);
    assert_int_equal(err.code, EO_OK);
    assert_eo_ok(eo_env_rollback(F.env, &err), &err);
}

/* An array may be NULL when its count is 0: nothing to do, success. */
static void test_api_contract__empty_arrays_may_be_null(void **state)
{
    eo_dbuilder *b = NULL;
    eo_ids out = { 0 };
    eo_error err;
    int rows = 0;
    (void)state;
    memset(&err, 0x5a, sizeof err);
    assert_eo_ok(eo_orm_unlink(F.env, F.m, NULL, 0, &err), &err);
    assert_int_equal(err.code, EO_OK);
    assert_eo_ok(eo_orm_write(F.env, F.m, NULL, 0, NULL, 0, 0, &err), &err);
    assert_eo_ok(eo_orm_read_rows(F.env, F.m, NULL, 0, NULL, 0, count_rows, &rows, &err), &err);
    assert_int_equal(rows, 0);
    assert_eo_ok(eo_orm_exists(F.env, F.m, NULL, 0, &out, &err), &err);
    assert_int_equal(out.n, 0);
    assert_eo_ok(eo_orm_create(F.env, F.m, 0, NULL, NULL, 0, NULL, &err), &err);
    assert_eo_ok(eo_dbuilder_new(&b, &err), &err);
    assert_eo_ok(eo_dbuilder_leaf_list(b, "name", "in", NULL, 0, &err), &err);
    eo_dbuilder_free(b);
    /* and a count that is not 0 makes it required */
    assert_eo_error(eo_orm_unlink(F.env, F.m, NULL, 1, &err), &err, EO_EINVAL,
                    "eo_orm_unlink: ids is NULL");
}

/* The one documented exception: undoing a scope keeps the caller's error. */
static void test_api_contract__atomic_end_undo_keeps_the_error(void **state)
{
    eo_error err;
    int64_t before = 0, after = 0;
    (void)state;
    assert_eo_ok(eo_orm_search_count(F.env, F.m, NULL, &before, &err), &err);
    assert_eo_ok(eo_env_atomic_begin(F.env, &err), &err);
    new_record("undone");
    eo_error_set(&err, EO_EVALIDATE, "what made the scope fail");
    assert_int_equal(eo_env_atomic_end(F.env, 0, &err), EO_OK);
    assert_int_equal(err.code, EO_EVALIDATE);
    assert_string_equal(err.msg, "what made the scope fail");
    assert_eo_ok(eo_orm_search_count(F.env, F.m, NULL, &after, &err), &err);
    assert_int_equal(after, before);
    assert_eo_error(eo_env_atomic_end(NULL, 0, &err), &err, EO_EINVAL,
                    "eo_env_atomic_end: env is NULL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_contract__table_covers_every_header_function),
        cmocka_unit_test(test_api_contract__success_clears_err),
        cmocka_unit_test(test_api_contract__null_arguments_are_einval),
        cmocka_unit_test(test_api_contract__known_offenders),
        cmocka_unit_test(test_api_contract__empty_arrays_may_be_null),
        cmocka_unit_test(test_api_contract__atomic_end_undo_keeps_the_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
