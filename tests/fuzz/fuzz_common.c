/*
 * fuzz_common.c - the fixture, the result checks and the domain pipeline
 * shared by the harnesses (see fuzz.h).
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "query/sql.h"
#include "adapters/mongo_int.h" /* mg_conn, mg__filter */

/* The adapters' own dialects. */
#define sqlite_d eo_sql__sqlite
#define pg_d eo_sql__postgres

void fz_die(const char *fmt, ...)
{
    va_list ap;
    fputs("fuzz: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* ---- the fixture --------------------------------------------------- */

static eo_registry *reg;
static const eo_model *item;

static void add(eo_model *m, const eo_field_spec *s)
{
    eo_error err;
    if (eo_model_add_field(NULL, m, s, &err) != EO_OK)
        fz_die("fixture: %s.%s: %s", m->name, s->name, err.msg);
}

static void build_registry(void)
{
    static const char *const states[] = { "draft", "done" };
    eo_model *it = NULL, *tag = NULL;
    eo_field_spec s;
    eo_value dtrue = eo_bool(1);
    eo_error err;

    if (eo_registry_new(&reg, &err) != EO_OK ||
        eo_registry_add_model(&it, reg, "fz.item", &err) != EO_OK ||
        eo_registry_add_model(&tag, reg, "fz.tag", &err) != EO_OK)
        fz_die("fixture: %s", err.msg);
#define F(m, ...)                                                                    \
    do {                                                                             \
        memset(&s, 0, sizeof s);                                                     \
        __VA_ARGS__;                                                                 \
        add(m, &s);                                                                  \
    } while (0)
    F(it, s.name = "name"; s.type = EO_FT_CHAR; s.flags = EO_FF_REQUIRED | EO_FF_INDEX; s.size = 32);
    F(it, s.name = "code"; s.type = EO_FT_CHAR; s.flags = EO_FF_UNIQUE);
    F(it, s.name = "notes"; s.type = EO_FT_TEXT);
    F(it, s.name = "qty"; s.type = EO_FT_INTEGER; s.flags = EO_FF_HAS_MIN | EO_FF_HAS_MAX;
      s.min = 0; s.max = 1000);
    F(it, s.name = "ratio"; s.type = EO_FT_FLOAT);
    F(it, s.name = "active"; s.type = EO_FT_BOOLEAN; s.def = &dtrue);
    F(it, s.name = "day"; s.type = EO_FT_DATE);
    F(it, s.name = "at"; s.type = EO_FT_DATETIME);
    F(it, s.name = "state"; s.type = EO_FT_SELECTION; s.choices = states; s.nchoices = 2);
    F(it, s.name = "data"; s.type = EO_FT_JSON);
    F(it, s.name = "price"; s.type = EO_FT_DECIMAL; s.precision = 12; s.scale = 2);
    F(it, s.name = "blob"; s.type = EO_FT_BINARY);
    F(it, s.name = "label"; s.type = EO_FT_CHAR; s.flags = EO_FF_COMPUTED);
    F(it, s.name = "parent_id"; s.type = EO_FT_MANY2ONE; s.comodel = "fz.item");
    F(it, s.name = "child_ids"; s.type = EO_FT_ONE2MANY; s.comodel = "fz.item";
      s.inverse = "parent_id");
    F(it, s.name = "tag_id"; s.type = EO_FT_MANY2ONE; s.comodel = "fz.tag");
    F(it, s.name = "tag_ids"; s.type = EO_FT_MANY2MANY; s.comodel = "fz.tag");
    F(tag, s.name = "name"; s.type = EO_FT_CHAR);
    F(tag, s.name = "parent_id"; s.type = EO_FT_MANY2ONE; s.comodel = "fz.tag");
#undef F
    if (eo_registry_resolve(reg, &err) != EO_OK)
        fz_die("fixture: %s", err.msg);
    item = it;
}

eo_registry *fz_registry(void)
{
    if (reg == NULL)
        build_registry();
    return reg;
}

const eo_model *fz_item(void)
{
    fz_registry();
    return item;
}

/* ---- checks -------------------------------------------------------- */

void fz_check_error(int rc, const eo_error *err, const char *what)
{
    if (rc >= 0)
        fz_die("%s: failed with a non-negative code %d", what, rc);
    if (err->code != rc)
        fz_die("%s: returned %s but err.code is %d (%s)", what, eo_code_name(rc), err->code,
               err->msg);
    if (memchr(err->msg, '\0', sizeof err->msg) == NULL)
        fz_die("%s: err.msg is not NUL-terminated", what);
    if (err->msg[0] == '\0')
        fz_die("%s: returned %s with an empty message", what, eo_code_name(rc));
}

static int expect_mode(void)
{
    static int mode = -1; /* 0 any, 1 ok, 2 error */
    if (mode < 0) {
        const char *e = getenv("EARNORM_FUZZ_EXPECT");
        mode = e == NULL || *e == '\0' ? 0 : strcmp(e, "ok") == 0 ? 1 : strcmp(e, "error") == 0 ? 2 : -1;
        if (mode < 0)
            fz_die("EARNORM_FUZZ_EXPECT must be ok or error, not '%s'", e);
    }
    return mode;
}

void fz_outcome(int ok, const char *what, const eo_error *err)
{
    int mode = expect_mode();
    if (mode == 1 && !ok)
        fz_die("EARNORM_FUZZ_EXPECT=ok, but %s failed: %s", what, err ? err->msg : "(no message)");
    if (mode == 2 && ok)
        fz_die("EARNORM_FUZZ_EXPECT=error, but the input went through (%s)", what);
}

typedef struct thread_call {
    void (*fn)(void *);
    void *payload;
} thread_call;

static void *thread_main(void *p)
{
    thread_call *c = p;
    c->fn(c->payload);
    return NULL;
}

void fz_run(void (*fn)(void *), void *payload)
{
    static long kb = -1;
    pthread_attr_t attr;
    pthread_t th;
    thread_call c = { fn, payload };
    if (kb < 0) {
        const char *e = getenv("EARNORM_FUZZ_STACK_KB");
        kb = e && *e ? strtol(e, NULL, 10) : 0;
        if (kb < 0 || (kb > 0 && kb < 64))
            fz_die("EARNORM_FUZZ_STACK_KB must be at least 64, not '%s'", e);
    }
    if (kb == 0) {
        fn(payload);
        return;
    }
    /* libFuzzer's -timeout alarm is handled on this thread only (it
     * ignores others), so a timeout's report shows this join: run.sh runs
     * such an input again on the main thread for the stack */
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, (size_t)kb * 1024) != 0 ||
        pthread_create(&th, &attr, thread_main, &c) != 0)
        fz_die("cannot start a thread with a %ld KiB stack", kb);
    pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
}

/*
 * Values only ever travel as parameters: the placeholders outside quoted
 * identifiers and literals are exactly the recorded parameters ($1..$n in
 * order of first use on PostgreSQL).
 */
static void check_placeholders(const eo_sqlq *q, const char *what)
{
    const char *p = q->sql.p ? q->sql.p : "";
    size_t count = 0, maxn = 0;
    char quote = 0;
    for (; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0; /* a doubled quote closes and reopens */
            continue;
        }
        if (*p == '"' || *p == '\'') {
            quote = *p;
        } else if (!q->d->dollar_params && *p == '?') {
            count++;
        } else if (q->d->dollar_params && *p == '$' && p[1] >= '0' && p[1] <= '9') {
            size_t n = 0;
            while (p[1] >= '0' && p[1] <= '9')
                n = n * 10 + (size_t)(*++p - '0');
            if (n == 0 || n > q->params.len)
                fz_die("%s: placeholder $%zu, but %zu parameters", what, n, q->params.len);
            if (n > maxn)
                maxn = n;
            count++;
        }
    }
    if (quote)
        fz_die("%s: unterminated quote in %.2000s", what, q->sql.p);
    if (q->d->dollar_params ? maxn != q->params.len : count != q->params.len)
        fz_die("%s: %zu placeholders for %zu parameters in %.2000s", what,
               q->d->dollar_params ? maxn : count, q->params.len, q->sql.p);
}

/* ---- SQLite: the generated SQL must prepare ------------------------ */

static sqlite3 *db;

static void open_db(void)
{
    size_t i, j;
    char *msg = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        fz_die("sqlite3_open: %s", sqlite3_errmsg(db));
    for (i = 0; i < eo_registry_count(reg); i++) {
        const eo_model *m = eo_registry_at(reg, i);
        eo_buf b = { 0 };
        if (m->abstract)
            continue;
        eo_buf__puts(&b, "CREATE TABLE ");
        eo_sql__ident(&b, m->table);
        eo_buf__puts(&b, " (\"id\" INTEGER PRIMARY KEY");
        for (j = 1; j < m->nfields; j++) {
            const eo_field *f = m->fields[j];
            const char *t = eo_sql__coltype(&sqlite_d, f);
            if (t == NULL || f->column == NULL)
                continue;
            eo_buf__puts(&b, ", ");
            eo_sql__ident(&b, f->column);
            eo_buf__putc(&b, ' ');
            eo_buf__puts(&b, t);
        }
        eo_buf__putc(&b, ')');
        if (b.oom || sqlite3_exec(db, b.p, NULL, NULL, &msg) != SQLITE_OK)
            fz_die("fixture table %s: %s", m->table, msg ? msg : "out of memory");
        eo_buf__free(&b);
    }
}

/* What SQLite refuses for its own limits (depth, terms, variables). */
static int sqlite_limit(const char *msg)
{
    return strstr(msg, "too large") || strstr(msg, "too many") || strstr(msg, "too big") ||
           strstr(msg, "stack overflow") || strstr(msg, "too deep");
}

static void prepare(const eo_sqlq *q, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (db == NULL)
        open_db();
    rc = sqlite3_prepare_v2(db, q->sql.p, (int)q->sql.len, &st, NULL);
    sqlite3_finalize(st);
    if (rc != SQLITE_OK && !sqlite_limit(sqlite3_errmsg(db)))
        fz_die("%s: SQLite refuses the SQL: %s\n%.4000s", what, sqlite3_errmsg(db), q->sql.p);
}

/* ---- the pipeline -------------------------------------------------- */

/* Does the tree hold a node of this kind of leaf? (no recursion) */
static int has_op(const eo_dnode *root, int (*pred)(eo_dop))
{
    eo_vec stack = EO_VEC_INIT(const eo_dnode *);
    int found = 0;
    if (eo_vec__push(&stack, &root) != EO_OK)
        fz_die("out of memory");
    while (stack.len > 0 && !found) {
        const eo_dnode *n = *(const eo_dnode **)eo_vec__at(&stack, --stack.len);
        size_t i;
        if (n->kind == EO_D_LEAF) {
            found = pred(n->op);
            continue;
        }
        for (i = 0; i < n->nkids; i++)
            if (eo_vec__push(&stack, &n->kids[i]) != EO_OK)
                fz_die("out of memory");
    }
    eo_vec__free(&stack);
    return found;
}

static int is_any(eo_dop op) { return op == EO_OP_ANY || op == EO_OP_NOT_ANY; }
static int is_hier(eo_dop op) { return op == EO_OP_CHILD_OF || op == EO_OP_PARENT_OF; }

static const eo_order_item *order_of(size_t *n)
{
    static eo_order_item *order;
    static size_t norder;
    eo_error err;
    if (order == NULL && eo_order_parse(&order, &norder, item, "state desc, name, id", &err) != EO_OK)
        fz_die("fixture order: %s", err.msg);
    *n = norder;
    return order;
}

/* The stored fields of fz.item: the SELECT's columns. */
static const eo_field *const *fields_of(size_t *n)
{
    static const eo_field *fields[32];
    static size_t nfields;
    size_t i;
    if (nfields == 0)
        for (i = 0; i < item->nfields && nfields < 32; i++)
            if (item->fields[i]->column != NULL)
                fields[nfields++] = item->fields[i];
    *n = nfields;
    return fields;
}

/* SELECT, COUNT and WHERE in one dialect (SELECT only when big); 1 when
 * they compiled. */
static int compile_sql(const eo_domain *d, const eo_sql_dialect *dl, int big)
{
    eo_query qr;
    eo_sqlq q;
    eo_error err;
    int rc, ok = 1;
    memset(&qr, 0, sizeof qr);
    qr.model = item;
    qr.domain = d;
    qr.fields = fields_of(&qr.nfields);
    qr.order = order_of(&qr.norder);
    qr.limit = 10;
    qr.offset = 5;

    eo_sqlq__init(&q, dl);
    if ((rc = eo_sql__select(&q, &qr, &err)) == EO_OK) {
        check_placeholders(&q, "eo_sql__select");
        if (!dl->dollar_params)
            prepare(&q, "eo_sql__select");
    } else {
        fz_check_error(rc, &err, "eo_sql__select");
        ok = 0;
    }
    eo_sqlq__free(&q);
    if (big)
        return ok;

    eo_sqlq__init(&q, dl);
    if ((rc = eo_sql__count(&q, &qr, &err)) == EO_OK) {
        check_placeholders(&q, "eo_sql__count");
        if (!dl->dollar_params)
            prepare(&q, "eo_sql__count");
    } else {
        fz_check_error(rc, &err, "eo_sql__count");
        ok = 0;
    }
    eo_sqlq__free(&q);

    eo_sqlq__init(&q, dl);
    if ((rc = eo_sql__where(&q, item, eo_domain_root(d), &err)) == EO_OK) {
        check_placeholders(&q, "eo_sql__where");
    } else {
        fz_check_error(rc, &err, "eo_sql__where");
        ok = 0;
    }
    eo_sqlq__free(&q);
    return ok;
}

/* The MongoDB filter on a connection that never talks to a server. */
static int compile_bson(const eo_domain *d, int ferret)
{
    mg_conn c;
    bson_t out = BSON_INITIALIZER;
    eo_error err;
    int rc;
    memset(&c, 0, sizeof c);
    c.ferret = ferret;
    c.decimal128 = !ferret;
    if ((rc = mg__filter(&c, item, d, &out, &err)) == EO_OK) {
        /* invalid UTF-8 in a string is refused by the server (FerretDB
         * drops the connection over it): the value should have been
         * refused first. libbson's JSON rendering says the same of small
         * filters; a big one (a shared list used 256 times) is checked by
         * bson_validate alone, which is linear where rendering is not */
        size_t off = 0;
        if (!bson_validate(&out, BSON_VALIDATE_UTF8, &off))
            fz_die("mg__filter: invalid UTF-8 in the filter at byte %zu", off);
        if (out.len < 1024 * 1024) {
            char *j = bson_as_canonical_extended_json(&out, NULL);
            if (j == NULL)
                fz_die("mg__filter: the filter does not render as JSON");
            bson_free(j);
        }
    } else {
        fz_check_error(rc, &err, "mg__filter");
    }
    bson_destroy(&out);
    return rc == EO_OK;
}

void fz_domain_init(void)
{
    size_t n;
    fz_registry();
    if (db == NULL)
        open_db();
    order_of(&n);
    fields_of(&n);
}

int fz_domain_pipeline(eo_domain *d, size_t size)
{
    /* COUNT and WHERE alone compile the same WHERE body as the SELECT
     * again, and SQLite's prepare is quadratic in constants: a deep input
     * gets each once, so its time is the code's, not this loop's */
    int big = size > 64 * 1024;
    eo_error err;
    char *s = NULL;
    int rc, ok;

    fz_registry();
    if ((rc = eo_domain_to_string(&s, d, &err)) != EO_OK)
        fz_check_error(rc, &err, "eo_domain_to_string (unbound)");
    /* a small input can make a big domain (one table used in many
     * places): big is what was built, as its text, not the input's size */
    if (s != NULL && strlen(s) > 256 * 1024)
        big = 1;
    eo_free(s);
    s = NULL;

    if ((rc = eo_domain_bind(d, item, &err)) != EO_OK) {
        fz_check_error(rc, &err, "eo_domain_bind");
        if (eo_domain_model(d) != NULL)
            fz_die("eo_domain_bind failed (%s) but left the domain bound", err.msg);
        fz_outcome(0, "eo_domain_bind", &err);
        return 0;
    }
    if (eo_domain_model(d) != item)
        fz_die("eo_domain_bind succeeded but the domain is not bound to fz.item");
    if (eo_domain_is_true(d) && eo_domain_is_false(d))
        fz_die("a bound domain is both TRUE and FALSE");
    if ((rc = eo_domain_to_string(&s, d, &err)) != EO_OK)
        fz_check_error(rc, &err, "eo_domain_to_string (bound)");
    eo_free(s);

    /* child_of / parent_of are resolved into ids by a search first */
    if (has_op(eo_domain_root(d), is_hier)) {
        fz_outcome(1, "bind", NULL);
        return 1;
    }
    ok = compile_sql(d, &sqlite_d, big);
    ok &= compile_sql(d, &pg_d, big);
    /* The BSON compiler refuses numeric ids (MongoDB's are ObjectIds):
     * its errors are checked, but do not count against `ok`. */
    if (!has_op(eo_domain_root(d), is_any)) {
        compile_bson(d, 0);
        if (!big)
            compile_bson(d, 1);
    }
    fz_outcome(ok, "the SQL compiler", NULL);
    return ok;
}
