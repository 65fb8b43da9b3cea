/*
 * test_faultsim.c - out-of-memory testing (STYLE.md §7).
 *
 * An eo_allocator fails the Nth allocation; each scenario runs with
 * N = 1, 2, ... until it succeeds. At each step the call must return
 * EO_ENOMEM (with err filled) or succeed, and once everything is freed the
 * allocations minus the frees must be zero. Two modes, as SQLite's
 * faultsim: transient (only the Nth allocation fails) and persistent (the
 * Nth and every later one fail, so cleanup paths run out of memory too).
 * A scenario that succeeds must give the same result as a run without
 * faults.
 */
#include "helpers.h"
#include "query/sql.h"

typedef struct fault {
    long calls;       /* allocation attempts (malloc and realloc) */
    long fail_at;     /* 1-based attempt to fail; 0: never */
    int persistent;   /* fail every attempt from fail_at on */
    long live;        /* successful allocations minus frees */
    long injected;    /* failures injected */
} fault;

static fault F;

static int should_fail(void)
{
    F.calls++;
    if (F.fail_at == 0)
        return 0;
    if (F.calls == F.fail_at || (F.persistent && F.calls > F.fail_at)) {
        F.injected++;
        return 1;
    }
    return 0;
}

static void *f_malloc(size_t n, void *payload)
{
    void *p;
    (void)payload;
    if (should_fail())
        return NULL;
    p = malloc(n);
    if (p)
        F.live++;
    return p;
}

static void *f_realloc(void *p, size_t n, void *payload)
{
    (void)payload;
    if (should_fail())
        return NULL;
    return realloc(p, n);
}

static void f_free(void *p, void *payload)
{
    (void)payload;
    F.live--;
    free(p);
}

static const eo_allocator counting = { f_malloc, f_realloc, f_free, NULL };

static void install(void)
{
    memset(&F, 0, sizeof F);
    eo_set_allocator(&counting);
}

static int uninstall(void **state)
{
    (void)state;
    eo_set_allocator(NULL);
    return 0;
}

static void arm(long n, int persistent)
{
    F.calls = 0;
    F.injected = 0;
    F.fail_at = n;
    F.persistent = persistent;
}

static void disarm(void) { F.fail_at = 0; }

/*
 * A scenario: run() does the work under faults and returns its code;
 * check() compares a success with the reference; cleanup() frees what
 * run() made (never under faults).
 */
typedef struct scenario {
    const char *name;
    void (*prepare)(void *ctx);       /* before the loop, no faults (may be NULL) */
    int (*run)(void *ctx, eo_error *err);
    void (*check)(void *ctx);         /* after a success */
    void (*cleanup)(void *ctx);       /* after each run */
    void (*finish)(void *ctx);        /* after the loop (may be NULL) */
} scenario;

static void faultsim(const scenario *s, void *ctx, int persistent)
{
    long n, nomem = 0;
    install();
    if (s->prepare)
        s->prepare(ctx);
    for (n = 1; n < 100000; n++) {
        eo_error err;
        long live_before = F.live;
        int rc;
        memset(&err, 0, sizeof err);
        arm(n, persistent);
        rc = s->run(ctx, &err);
        disarm();
        if (rc != EO_OK && rc != EO_ENOMEM)
            fail_msg("%s (%s), failing allocation %ld: got %s: %s", s->name,
                     persistent ? "persistent" : "transient", n, eo_code_name(rc), err.msg);
        if (rc == EO_ENOMEM) {
            nomem++;
            if (F.injected == 0)
                fail_msg("%s: EO_ENOMEM without an injected failure", s->name);
            if (err.code != EO_ENOMEM || err.msg[0] == '\0')
                fail_msg("%s, failing allocation %ld: err is %s \"%s\"", s->name, n,
                         eo_code_name(err.code), err.msg);
        } else {
            s->check(ctx); /* a success must be right, faults or not */
        }
        s->cleanup(ctx);
        if (F.live != live_before)
            fail_msg("%s (%s), failing allocation %ld: %ld allocation(s) leaked", s->name,
                     persistent ? "persistent" : "transient", n, F.live - live_before);
        if (rc == EO_OK && F.injected == 0)
            break; /* ran to the end without a fault: done */
    }
    if (n >= 100000)
        fail_msg("%s never succeeded", s->name);
    if (getenv("EARNORM_FAULTSIM_VERBOSE"))
        fprintf(stderr, "# %s (%s): %ld runs, %ld out of memory\n", s->name,
                persistent ? "persistent" : "transient", n, nomem);
    /* the loop must have exercised something */
    if (nomem < 2 || n < 3)
        fail_msg("%s: only %ld out-of-memory result(s) in %ld runs", s->name, nomem, n);
    if (s->finish)
        s->finish(ctx);
    if (F.live != 0)
        fail_msg("%s: %ld allocation(s) outstanding after cleanup", s->name, F.live);
    eo_set_allocator(NULL);
}

/* ---- registry ------------------------------------------------------ */

typedef struct reg_ctx {
    eo_registry *reg;
} reg_ctx;

static int reg_run(void *p, eo_error *err)
{
    reg_ctx *c = p;
    eo_registry *reg = NULL;
    eo_model *m;
    eo_field_spec s;
    int rc;
    c->reg = NULL;
    if ((rc = th_registry_build(&reg, err)) != EO_OK)
        return rc;
    m = eo_registry_find(reg, "res.partner");
    memset(&s, 0, sizeof s);
    s.name = "tag_ids";
    s.type = EO_FT_MANY2MANY;
    s.comodel = "res.tag";
    if ((rc = eo_model_add_field(NULL, m, &s, err)) != EO_OK)
        goto fail;
    memset(&s, 0, sizeof s);
    s.name = "child_ids";
    s.type = EO_FT_ONE2MANY;
    s.comodel = "res.partner";
    s.inverse = "parent_id";
    if ((rc = eo_model_add_field(NULL, m, &s, err)) != EO_OK)
        goto fail;
    if ((rc = eo_model_set(m, "Contact", "name", NULL, NULL, err)) != EO_OK)
        goto fail;
    if ((rc = eo_registry_resolve(reg, err)) != EO_OK)
        goto fail;
    c->reg = reg;
    return EO_OK;
fail:
    eo_registry_free(reg);
    return rc;
}

static void reg_check(void *p)
{
    reg_ctx *c = p;
    eo_model *m = eo_registry_find(c->reg, "res.partner");
    const eo_field *tags = eo_model_field(m, "tag_ids", 7);
    const eo_model *j = eo_registry_find(c->reg, "res_partner_res_tag_rel");
    /* resolving declared the Many2many's junction model */
    assert_int_equal(eo_registry_count(c->reg), 3);
    assert_non_null(j);
    assert_true(j->junction);
    assert_ptr_equal(tags->junction, j);
    assert_string_equal(j->fields[1]->name, "res_partner_id");
    assert_string_equal(j->fields[2]->name, "res_tag_id");
    assert_int_equal(j->fields[1]->ondelete, EO_ONDELETE_CASCADE);
    assert_int_equal(m->nfields, 15);
    assert_string_equal(m->description, "Contact");
    assert_string_equal(tags->relation, "res_partner_res_tag_rel");
    assert_string_equal(tags->column2, "res_tag_id");
    assert_string_equal(eo_model_field(m, "kind", 4)->def.u.s.p, "person");
    assert_ptr_equal(eo_model_field(m, "child_ids", 9)->comodel, m);
}

static void reg_cleanup(void *p)
{
    reg_ctx *c = p;
    eo_registry_free(c->reg);
    c->reg = NULL;
}

static const scenario reg_scenario = { "registry", NULL, reg_run, reg_check, reg_cleanup, NULL };

static void test_faultsim__registry(void **state)
{
    reg_ctx c = { NULL };
    (void)state;
    faultsim(&reg_scenario, &c, 0);
    faultsim(&reg_scenario, &c, 1);
}

/* ---- domains ------------------------------------------------------- */

typedef struct dom_ctx {
    eo_registry *reg;
    const eo_model *P;
    char *want;          /* normalized text from a run without faults (builder) */
    char *got;
    eo_domain *d;
} dom_ctx;

static void dom_prepare(void *p)
{
    dom_ctx *c = p;
    c->reg = th_registry();
    c->P = th_partner(c->reg);
}

static void dom_finish(void *p)
{
    dom_ctx *c = p;
    eo_registry_free(c->reg);
    c->reg = NULL;
}

static int dom_bind_and_print(dom_ctx *c, eo_error *err)
{
    int rc;
    if ((rc = eo_domain_bind(c->d, c->P, err)) != EO_OK)
        return rc;
    return eo_domain_to_string(&c->got, c->d, err);
}

static int built_run(void *p, eo_error *err)
{
    dom_ctx *c = p;
    eo_dbuilder *b = NULL, *sb = NULL;
    eo_domain *sub = NULL;
    eo_value v, list[40];
    int rc, i;
    c->d = NULL;
    c->got = NULL;
    for (i = 0; i < 40; i++)
        list[i] = eo_int(i % 7);
    if ((rc = eo_dbuilder_new(&b, err)) != EO_OK)
        return rc;
    if ((rc = eo_dbuilder_op(b, '|', err)) != EO_OK)
        goto fail;
    v = eo_cstr("Ann");
    if ((rc = eo_dbuilder_leaf(b, "name", "ilike", &v, err)) != EO_OK)
        goto fail;
    v = eo_cstr("Bob");
    if ((rc = eo_dbuilder_leaf(b, "name", "=", &v, err)) != EO_OK)
        goto fail;
    if ((rc = eo_dbuilder_leaf_list(b, "age", "in", list, 40, err)) != EO_OK)
        goto fail;
    if ((rc = eo_dbuilder_op(b, '!', err)) != EO_OK)
        goto fail;
    v = eo_int(18);
    if ((rc = eo_dbuilder_leaf(b, "age", ">", &v, err)) != EO_OK)
        goto fail;
    v = eo_bool(0);
    if ((rc = eo_dbuilder_leaf(b, "active", "=", &v, err)) != EO_OK)
        goto fail;
    v = eo_cstr("2024-01-02T03:04:05+02:00");
    if ((rc = eo_dbuilder_leaf(b, "parent_id.seen_at", "<", &v, err)) != EO_OK)
        goto fail;
    /* a sub-domain: parent_id any [email = x] */
    if ((rc = eo_dbuilder_new(&sb, err)) != EO_OK)
        goto fail;
    v = eo_cstr("x@y");
    if ((rc = eo_dbuilder_leaf(sb, "email", "=", &v, err)) != EO_OK) {
        eo_dbuilder_free(sb);
        goto fail;
    }
    if ((rc = eo_dbuilder_finish(&sub, sb, err)) != EO_OK)
        goto fail;
    if ((rc = eo_dbuilder_leaf_sub(b, "parent_id", "any", sub, err)) != EO_OK)
        goto fail;
    if ((rc = eo_dbuilder_op(b, '|', err)) != EO_OK)
        goto fail;
    v = eo_int(1);
    if ((rc = eo_dbuilder_leaf(b, "score", "=", &v, err)) != EO_OK)
        goto fail;
    v = eo_int(2);
    if ((rc = eo_dbuilder_leaf(b, "score", "=", &v, err)) != EO_OK)
        goto fail;
    if ((rc = eo_dbuilder_finish(&c->d, b, err)) != EO_OK)
        return rc;
    return dom_bind_and_print(c, err);
fail:
    eo_dbuilder_free(b);
    return rc;
}

static void dom_check(void *p)
{
    dom_ctx *c = p;
    assert_non_null(c->got);
    if (strcmp(c->got, c->want) != 0)
        fail_msg("result under faults differs:\n  %s\n  %s", c->got, c->want);
}

static void dom_cleanup(void *p)
{
    dom_ctx *c = p;
    eo_free(c->got);
    eo_domain_free(c->d);
    c->got = NULL;
    c->d = NULL;
}

/* The reference result, from a run with the C library's allocator. */
static char *reference(const scenario *s, dom_ctx *c)
{
    eo_error err;
    char *want;
    eo_set_allocator(NULL);
    s->prepare(c);
    assert_eo_ok(s->run(c, &err), &err);
    want = strdup(c->got);
    s->cleanup(c);
    s->finish(c);
    return want;
}

static const scenario built_scenario = { "domain builder + bind + normalize", dom_prepare, built_run,
                                         dom_check, dom_cleanup, dom_finish };

static void test_faultsim__domain_builder_bind(void **state)
{
    dom_ctx c;
    (void)state;
    memset(&c, 0, sizeof c);
    c.want = reference(&built_scenario, &c);
    /* sanity: the reference is the normalized tree, not a constant */
    assert_non_null(strstr(c.want, "[\"score\", \"in\", [1, 2]]"));
    assert_non_null(strstr(c.want, "[\"age\", \"in\", [0, 1, 2, 3, 4, 5, 6]]"));
    faultsim(&built_scenario, &c, 0);
    faultsim(&built_scenario, &c, 1);
    free(c.want);
}

/* A domain that does not fold, so its text is worth comparing. */
static const char *const JSON_DOMAIN =
    "[\"|\", [\"name\", \"ilike\", \"Ann\"], \"&\", [\"age\", \"in\", [1, 2, 3, 2, null]],"
    " [\"parent_id.parent_id.email\", \"=like\", \"%@x.org\"],"
    " \"!\", [\"age\", \">\", 18], [\"active\", \"=\", false], [\"data\", \"=\", {\"$gt\": \"\"}],"
    " [\"parent_id\", \"any\", [[\"kind\", \"in\", [\"person\"]], [\"seen_at\", \"<\", \"2024-01-02T03:04:05Z\"]]],"
    " \"|\", [\"score\", \"=\", 1], [\"score\", \"=\", 2]]";

static const char *const JSON_WANT =
    "[\"&\", \"&\", \"&\", \"&\", \"&\", \"|\", [\"name\", \"ilike\", \"Ann\"], \"&\", [\"age\", \"in\", [1, 2, 3, null]], "
    "[\"parent_id\", \"any\", [[\"parent_id\", \"any\", [[\"email\", \"=like\", \"%@x.org\"]]]]], "
    "\"|\", [\"age\", \"<=\", 18], [\"age\", \"=\", null], [\"active\", \"in\", [false, null]], "
    "[\"data\", \"=\", \"{\\\"$gt\\\": \\\"\\\"}\"], " /* the object as written */
    "[\"parent_id\", \"any\", [\"&\", [\"kind\", \"=\", \"person\"], [\"seen_at\", \"<\", \"2024-01-02 03:04:05\"]]], "
    "[\"score\", \"in\", [1, 2]]]";

static int json_run(void *p, eo_error *err)
{
    dom_ctx *c = p;
    int rc;
    c->d = NULL;
    c->got = NULL;
    if ((rc = eo_domain_from_json(&c->d, JSON_DOMAIN, strlen(JSON_DOMAIN), err)) != EO_OK)
        return rc;
    return dom_bind_and_print(c, err);
}

static void json_check(void *p)
{
    dom_ctx *c = p;
    if (strcmp(c->got, JSON_WANT) != 0)
        fail_msg("normalized\n  %s\nexpected\n  %s", c->got, JSON_WANT);
    assert_false(eo_domain_is_false(c->d));
}

static const scenario json_scenario = { "eo_domain_from_json + bind", dom_prepare, json_run, json_check,
                                        dom_cleanup, dom_finish };

static void test_faultsim__domain_from_json(void **state)
{
    dom_ctx c;
    (void)state;
    memset(&c, 0, sizeof c);
    faultsim(&json_scenario, &c, 0);
    faultsim(&json_scenario, &c, 1);
}

/* Only the parse, with a deep nesting of sub-domains. */
static int json_parse_run(void *p, eo_error *err)
{
    dom_ctx *c = p;
    const char *j = "[[\"parent_id\", \"any\", [[\"parent_id\", \"any\", [[\"parent_id\", \"any\","
                    " [\"|\", [\"name\", \"=\", \"a\"], [\"name\", \"in\", [\"b\", \"c\"]]]]]]]]]";
    c->got = NULL;
    c->d = NULL;
    return eo_domain_from_json(&c->d, j, strlen(j), err);
}

static void json_parse_check(void *p)
{
    dom_ctx *c = p;
    const eo_dnode *n = eo_domain_root(c->d);
    assert_int_equal(n->kind, EO_D_LEAF);
    assert_int_equal(n->op, EO_OP_ANY);
    n = n->sub->sub->sub;
    assert_int_equal(n->kind, EO_D_OR);
    assert_int_equal(n->kids[1]->nlist, 2);
}

static const scenario json_parse_scenario = { "eo_domain_from_json", dom_prepare, json_parse_run,
                                              json_parse_check, dom_cleanup, dom_finish };

static void test_faultsim__domain_from_json_nested(void **state)
{
    dom_ctx c;
    (void)state;
    memset(&c, 0, sizeof c);
    faultsim(&json_parse_scenario, &c, 0);
    faultsim(&json_parse_scenario, &c, 1);
}

/* ---- SQL compilation ----------------------------------------------- */

#define sqlite_d eo_sql__sqlite

typedef struct sql_ctx {
    eo_registry *reg;
    const eo_model *P;
    eo_domain *d;
    eo_order_item *order;
    size_t norder;
    eo_sqlq q;
    int compiled;
} sql_ctx;

static void sql_prepare(void *p)
{
    sql_ctx *c = p;
    eo_error err;
    char *j;
    size_t o = 0, i;
    c->reg = th_registry();
    c->P = th_partner(c->reg);
    /* a long list (json_each), like, ilike, not like, any, order, window */
    j = malloc(4096);
    o += (size_t)snprintf(j + o, 4096 - o, "[[\"age\", \"in\", [");
    for (i = 0; i < 40; i++)
        o += (size_t)snprintf(j + o, 4096 - o, "%s%zu", i ? ", " : "", i);
    snprintf(j + o, 4096 - o,
             "]], \"|\", [\"name\", \"like\", \"a*b%%\"], [\"email\", \"ilike\", \"50%%_\"],"
             " [\"name\", \"not like\", \"x\"], [\"parent_id.name\", \"=like\", \"A_\"],"
             " [\"active\", \"=\", false], \"!\", [\"name\", \"=ilike\", \"z%%\"]]");
    assert_eo_ok(eo_domain_from_json(&c->d, j, strlen(j), &err), &err);
    free(j);
    assert_eo_ok(eo_domain_bind(c->d, c->P, &err), &err);
    assert_eo_ok(eo_order_parse(&c->order, &c->norder, c->P, "age desc, name", &err), &err);
}

static void sql_finish(void *p)
{
    sql_ctx *c = p;
    eo_free(c->order);
    eo_domain_free(c->d);
    eo_registry_free(c->reg);
}

static int select_run(void *p, eo_error *err)
{
    sql_ctx *c = p;
    eo_query qr;
    const eo_field *fields[3];
    fields[0] = c->P->fields[0];
    fields[1] = th_field(c->P, "name");
    fields[2] = th_field(c->P, "price");
    memset(&qr, 0, sizeof qr);
    qr.model = c->P;
    qr.domain = c->d;
    qr.fields = fields;
    qr.nfields = 3;
    qr.order = c->order;
    qr.norder = c->norder;
    qr.limit = 10;
    qr.offset = 5;
    eo_sqlq__init(&c->q, &sqlite_d);
    c->compiled = 1;
    return eo_sql__select(&c->q, &qr, err);
}

/* six terms: two balanced groups of three (sql.c join) */
static const char *const SELECT_WANT =
    "SELECT \"id\", \"name\", \"price\" FROM \"res_partner\" WHERE ((\"age\" IN (SELECT value FROM json_each(?)) AND "
    "(\"name\" GLOB ? OR lower(\"email\") LIKE lower(?) ESCAPE '\\') AND (\"name\" NOT GLOB ? OR \"name\" IS NULL)) AND "
    "(\"parent_id\" IN (SELECT \"id\" FROM \"res_partner\" WHERE \"name\" GLOB ?) AND "
    "(\"active\" IN (?) OR \"active\" IS NULL) AND NOT COALESCE((lower(\"name\") LIKE lower(?) ESCAPE '\\'), 0))) "
    "ORDER BY \"age\" DESC, \"name\" ASC LIMIT ? OFFSET ?";

static void select_check(void *p)
{
    sql_ctx *c = p;
    const eo_sqlparam *pr;
    if (strcmp(c->q.sql.p, SELECT_WANT) != 0)
        fail_msg("SQL under faults\n  %s\nexpected\n  %s", c->q.sql.p, SELECT_WANT);
    assert_int_equal(c->q.params.len, 9);
    pr = eo_vec__at(&c->q.params, 0);
    assert_int_equal(pr->kind, EO_SQLP_LIST);
    assert_memory_equal(pr->v.u.s.p, "[0,1,2,", 7);
    pr = eo_vec__at(&c->q.params, 1);
    assert_memory_equal(pr->v.u.s.p, "*a[*]b**", 8); /* like keeps % a wildcard */
    pr = eo_vec__at(&c->q.params, 2);
    assert_memory_equal(pr->v.u.s.p, "%50%_%", 6);
    pr = eo_vec__at(&c->q.params, 8);
    assert_int_equal(pr->v.u.i, 5);
}

static void sql_cleanup(void *p)
{
    sql_ctx *c = p;
    if (c->compiled)
        eo_sqlq__free(&c->q);
    c->compiled = 0;
}

static const scenario select_scenario = { "SQL select", sql_prepare, select_run, select_check, sql_cleanup,
                                          sql_finish };

static void test_faultsim__sql_select(void **state)
{
    sql_ctx c;
    (void)state;
    memset(&c, 0, sizeof c);
    faultsim(&select_scenario, &c, 0);
    memset(&c, 0, sizeof c);
    faultsim(&select_scenario, &c, 1);
}

static int group_run(void *p, eo_error *err)
{
    sql_ctx *c = p;
    eo_group_query g;
    eo_group_key keys[2];
    eo_group_agg agg;
    memset(&g, 0, sizeof g);
    keys[0].field = th_field(c->P, "kind");
    keys[0].gran = EO_GRAN_NONE;
    keys[0].name = "kind";
    keys[1].field = th_field(c->P, "birthday");
    keys[1].gran = EO_GRAN_QUARTER;
    keys[1].name = "birthday:quarter";
    agg.field = th_field(c->P, "price");
    agg.agg = EO_AGG_SUM;
    agg.name = "price";
    g.model = c->P;
    g.keys = keys;
    g.nkeys = 2;
    g.aggs = &agg;
    g.naggs = 1;
    g.limit = -1;
    eo_sqlq__init(&c->q, &sqlite_d);
    c->compiled = 1;
    return eo_sql__group(&c->q, &g, err);
}

static void group_check(void *p)
{
    sql_ctx *c = p;
    const char *want =
        "SELECT \"kind\", (strftime('%Y', \"birthday\") || '-Q' || ((CAST(strftime('%m', \"birthday\") AS INTEGER) "
        "+ 2) / 3)), count(*), sum(\"price\") FROM \"res_partner\" GROUP BY 1, 2 ORDER BY 1, 2";
    if (strcmp(c->q.sql.p, want) != 0)
        fail_msg("group SQL under faults\n  %s\nexpected\n  %s", c->q.sql.p, want);
}

static const scenario group_scenario = { "SQL group", sql_prepare, group_run, group_check, sql_cleanup,
                                         sql_finish };

static void test_faultsim__sql_group(void **state)
{
    sql_ctx c;
    (void)state;
    memset(&c, 0, sizeof c);
    faultsim(&group_scenario, &c, 0);
    memset(&c, 0, sizeof c);
    faultsim(&group_scenario, &c, 1);
}

/* ---- ORM operations on SQLite (SQLite's own memory is not counted) -- */

typedef struct orm_ctx {
    eo_registry *reg;
    const eo_model *P;
    eo_env *env;
    eo_id parent;          /* a record new rows point to */
    eo_id made[3];         /* rows made by create */
    eo_id rows[3];         /* rows written by write */
    eo_ids found;
    char text[1024];       /* rows read, as text (no eo allocation) */
    int rc;
} orm_ctx;

static int64_t orm_count(orm_ctx *c)
{
    eo_error err;
    int64_t n = -1;
    assert_eo_ok(eo_orm_search_count(c->env, c->P, NULL, &n, &err), &err);
    return n;
}

static int text_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    orm_ctx *c = payload;
    size_t i, len = strlen(c->text);
    (void)err;
    for (i = 0; i < ncols; i++) {
        const eo_value *v = &row[i];
        const char *sep = i ? "|" : "";
        if (v->type == EO_VTEXT)
            len += (size_t)snprintf(c->text + len, sizeof c->text - len, "%s%.*s", sep, (int)v->u.s.n, v->u.s.p);
        else if (v->type == EO_VINT)
            len += (size_t)snprintf(c->text + len, sizeof c->text - len, "%s%lld", sep, (long long)v->u.i);
        else
            len += (size_t)snprintf(c->text + len, sizeof c->text - len, "%s%s", sep, eo_vtype_name(v->type));
    }
    snprintf(c->text + len, sizeof c->text - len, ";");
    return EO_OK;
}

typedef struct crow { const char *name; const char *when; const char *price; } crow;
static const crow CROWS[3] = {
    { "r0", "2024-01-02T03:04:05+02:00", "1.005" },
    { "r1", "2024-02-29", "2" },
    { "r2", "2023-12-31T23:00:00-01:00", "-0.5" },
};

static int crow_cb(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    orm_ctx *c = payload;
    (void)cap;
    (void)err;
    out[0].field = th_field(c->P, "name");
    out[0].value = eo_cstr(CROWS[i].name);
    out[1].field = th_field(c->P, "seen_at");
    out[1].value = eo_cstr(CROWS[i].when);
    out[2].field = th_field(c->P, "price");
    out[2].value = eo_cstr(CROWS[i].price);
    out[3].field = th_field(c->P, "parent_id");
    out[3].value = eo_int(c->parent.num);
    *n = 4;
    return EO_OK;
}

static void orm_open(orm_ctx *c)
{
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_error err;
    c->reg = th_registry();
    c->P = th_partner(c->reg);
    cfg.database_url = "sqlite::memory:";
    assert_eo_ok(eo_env_open(&c->env, c->reg, &cfg, &err), &err);
    assert_eo_ok(eo_env_migrate(c->env, 0, NULL, NULL, &err), &err);
}

static void orm_finish(void *p)
{
    orm_ctx *c = p;
    eo_ids_free(&c->found);
    eo_env_free(c->env);
    eo_registry_free(c->reg);
    c->env = NULL;
    c->reg = NULL;
}

static int create_run(void *p, eo_error *err)
{
    orm_ctx *c = p;
    memset(c->made, 0, sizeof c->made);
    c->rc = eo_orm_create(c->env, c->P, 3, crow_cb, c, 0, c->made, err);
    return c->rc;
}

static void create_check(void *p)
{
    orm_ctx *c = p;
    static const char *const names[] = { "name", "seen_at", "price", NULL };
    const eo_field *fields[3];
    eo_error err;
    size_t i;
    for (i = 0; names[i]; i++)
        fields[i] = th_field(c->P, names[i]);
    disarm();
    c->text[0] = '\0';
    eo_env_invalidate_all(c->env);
    assert_eo_ok(eo_orm_read_rows(c->env, c->P, c->made, 3, fields, 3, text_row, c, &err), &err);
    assert_string_equal(c->text, "r0|2024-01-02 01:04:05|1.01;r1|2024-02-29 00:00:00|2.00;"
                                 "r2|2024-01-01 00:00:00|-0.50;");
}

static void create_cleanup(void *p)
{
    orm_ctx *c = p;
    eo_error err;
    if (c->rc == EO_OK)
        assert_eo_ok(eo_orm_unlink(c->env, c->P, c->made, 3, &err), &err);
    /* a failed batch left nothing behind */
    assert_int_equal(orm_count(c), 1);
    assert_int_equal(eo_env_txn_depth(c->env), 0);
    eo_env_invalidate_all(c->env);
}

static int parent_cb(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    orm_ctx *c = payload;
    (void)i;
    (void)cap;
    (void)err;
    out[0].field = th_field(c->P, "name");
    out[0].value = eo_cstr("parent");
    *n = 1;
    return EO_OK;
}

static void create_prepare(void *p)
{
    orm_ctx *c = p;
    eo_error err;
    orm_open(c);
    assert_eo_ok(eo_orm_create(c->env, c->P, 1, parent_cb, c, 0, &c->parent, &err), &err);
    /* warm the statement cache so later runs add nothing to it */
    assert_eo_ok(create_run(c, &err), &err);
    create_check(c);
    create_cleanup(c);
}

static const scenario create_scenario = { "eo_orm_create", create_prepare, create_run, create_check,
                                          create_cleanup, orm_finish };

static void test_faultsim__orm_create(void **state)
{
    orm_ctx c;
    (void)state;
    memset(&c, 0, sizeof c);
    faultsim(&create_scenario, &c, 0);
    memset(&c, 0, sizeof c);
    faultsim(&create_scenario, &c, 1);
}

static int name_cb(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    orm_ctx *c = payload;
    static char names[60][16];
    (void)cap;
    (void)err;
    snprintf(names[i], sizeof names[i], "n%02zu", i);
    out[0].field = th_field(c->P, "name");
    out[0].value = eo_cstr(names[i]);
    out[1].field = th_field(c->P, "age");
    out[1].value = eo_int((int64_t)(i % 10));
    *n = 2;
    return EO_OK;
}

static int search_read_run(void *p, eo_error *err)
{
    orm_ctx *c = p;
    const char *j = "[[\"name\", \"like\", \"n\"], [\"age\", \"in\", [1, 2, 3]], \"!\", [\"name\", \"=\", \"n01\"]]";
    eo_domain *d = NULL;
    const eo_field *fields[2];
    int rc;
    c->found.n = 0;
    c->text[0] = '\0';
    fields[0] = th_field(c->P, "name");
    fields[1] = th_field(c->P, "age");
    if ((rc = eo_domain_from_json(&d, j, strlen(j), err)) != EO_OK)
        return rc;
    rc = eo_orm_search(c->env, c->P, d, "age desc, name", 5, 1, &c->found, err);
    eo_domain_free(d);
    if (rc != EO_OK)
        return rc;
    /* read through the store: one prefetch, then hits */
    {
        size_t i;
        for (i = 0; i < c->found.n; i++) {
            const eo_value *v = NULL;
            if ((rc = eo_orm_get(c->env, c->P, c->found.v[i], fields[0], c->found.v, c->found.n, i, &v,
                                 err)) != EO_OK)
                return rc;
        }
    }
    return eo_orm_read_rows(c->env, c->P, c->found.v, c->found.n, fields, 2, text_row, c, err);
}

static void search_read_check(void *p)
{
    orm_ctx *c = p;
    assert_int_equal(c->found.n, 5);
    assert_string_equal(c->text, "n13|3;n23|3;n33|3;n43|3;n53|3;");
}

static void search_read_cleanup(void *p)
{
    orm_ctx *c = p;
    eo_ids_free(&c->found);
    eo_env_invalidate_all(c->env);
}

static void search_read_prepare(void *p)
{
    orm_ctx *c = p;
    eo_id ids[60];
    eo_error err;
    orm_open(c);
    assert_eo_ok(eo_orm_create(c->env, c->P, 60, name_cb, c, 0, ids, &err), &err);
    assert_eo_ok(search_read_run(c, &err), &err);
    search_read_check(c);
    search_read_cleanup(c);
}

static const scenario search_read_scenario = { "eo_orm_search + get + read_rows", search_read_prepare,
                                               search_read_run, search_read_check, search_read_cleanup,
                                               orm_finish };

static void test_faultsim__orm_search_read(void **state)
{
    orm_ctx c;
    (void)state;
    memset(&c, 0, sizeof c);
    faultsim(&search_read_scenario, &c, 0);
    memset(&c, 0, sizeof c);
    faultsim(&search_read_scenario, &c, 1);
}

static int write_run(void *p, eo_error *err)
{
    orm_ctx *c = p;
    eo_kv kv[3];
    kv[0].field = th_field(c->P, "age");
    kv[0].value = eo_cstr("77");
    kv[1].field = th_field(c->P, "price");
    kv[1].value = eo_float(2.675);
    kv[2].field = th_field(c->P, "parent_id");
    kv[2].value = eo_int(c->parent.num);
    c->rc = eo_orm_write(c->env, c->P, c->rows, 3, kv, 3, 0, err);
    return c->rc;
}

static void rows_text(orm_ctx *c)
{
    const eo_field *fields[3];
    eo_error err;
    fields[0] = th_field(c->P, "age");
    fields[1] = th_field(c->P, "price");
    fields[2] = th_field(c->P, "name");
    c->text[0] = '\0';
    assert_eo_ok(eo_orm_read_rows(c->env, c->P, c->rows, 3, fields, 3, text_row, c, &err), &err);
}

static void write_check(void *p)
{
    orm_ctx *c = p;
    disarm();
    /* from the store, then from the database */
    rows_text(c);
    assert_string_equal(c->text, "77|2.68|w0;77|2.68|w1;77|2.68|w2;");
    eo_env_invalidate_all(c->env);
    rows_text(c);
    assert_string_equal(c->text, "77|2.68|w0;77|2.68|w1;77|2.68|w2;");
}

static void write_reset(orm_ctx *c)
{
    eo_kv kv[3];
    eo_error err;
    kv[0].field = th_field(c->P, "age");
    kv[0].value = eo_int(1);
    kv[1].field = th_field(c->P, "price");
    kv[1].value = eo_null();
    kv[2].field = th_field(c->P, "parent_id");
    kv[2].value = eo_null();
    assert_eo_ok(eo_orm_write(c->env, c->P, c->rows, 3, kv, 3, 0, &err), &err);
}

static void write_cleanup(void *p)
{
    orm_ctx *c = p;
    eo_env_invalidate_all(c->env);
    if (c->rc != EO_OK) {
        /* all or nothing */
        rows_text(c);
        assert_string_equal(c->text, "1|null|w0;1|null|w1;1|null|w2;");
    }
    write_reset(c);
    eo_env_invalidate_all(c->env);
    assert_int_equal(eo_env_txn_depth(c->env), 0);
}

static int wrow_cb(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    orm_ctx *c = payload;
    static const char *const names[] = { "w0", "w1", "w2" };
    (void)cap;
    (void)err;
    out[0].field = th_field(c->P, "name");
    out[0].value = eo_cstr(names[i]);
    *n = 1;
    return EO_OK;
}

static void write_prepare(void *p)
{
    orm_ctx *c = p;
    eo_error err;
    orm_open(c);
    assert_eo_ok(eo_orm_create(c->env, c->P, 1, parent_cb, c, 0, &c->parent, &err), &err);
    assert_eo_ok(eo_orm_create(c->env, c->P, 3, wrow_cb, c, 0, c->rows, &err), &err);
    write_reset(c);
    assert_eo_ok(write_run(c, &err), &err);
    write_check(c);
    write_cleanup(c);
}

static const scenario write_scenario = { "eo_orm_write", write_prepare, write_run, write_check, write_cleanup,
                                         orm_finish };

static void test_faultsim__orm_write(void **state)
{
    orm_ctx c;
    (void)state;
    memset(&c, 0, sizeof c);
    faultsim(&write_scenario, &c, 0);
    memset(&c, 0, sizeof c);
    faultsim(&write_scenario, &c, 1);
}

static void migrate_prepare(void *p)
{
    orm_ctx *c = p;
    c->reg = th_registry();
    c->P = th_partner(c->reg);
}

/* Open a fresh in-memory database and migrate it, then migrate again
 * (the second pass reads the schema back). */
static int migrate_run(void *p, eo_error *err)
{
    orm_ctx *c = p;
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    int rc;
    c->env = NULL;
    cfg.database_url = "sqlite::memory:";
    if ((rc = eo_env_open(&c->env, c->reg, &cfg, err)) != EO_OK)
        return rc;
    if ((rc = eo_env_migrate(c->env, 0, NULL, NULL, err)) != EO_OK)
        return rc;
    return eo_env_migrate(c->env, 0, NULL, NULL, err);
}

static void count_note(void *payload, const char *line)
{
    (void)line;
    (*(int *)payload)++;
}

static void migrate_check(void *p)
{
    orm_ctx *c = p;
    eo_error err;
    int notes = 0;
    disarm();
    /* everything was made: a dry run finds nothing left to do */
    assert_eo_ok(eo_env_migrate(c->env, 1, count_note, &notes, &err), &err);
    assert_int_equal(notes, 0);
    assert_string_equal(eo_env_backend(c->env), "sqlite");
    assert_int_equal(orm_count(c), 0);
    assert_int_equal(eo_env_txn_depth(c->env), 0);
}

static void migrate_cleanup(void *p)
{
    orm_ctx *c = p;
    eo_env_free(c->env);
    c->env = NULL;
}

static void migrate_finish(void *p)
{
    orm_ctx *c = p;
    eo_registry_free(c->reg);
    c->reg = NULL;
}

static const scenario migrate_scenario = { "eo_env_open + eo_env_migrate", migrate_prepare, migrate_run,
                                           migrate_check, migrate_cleanup, migrate_finish };

static void test_faultsim__env_open_migrate(void **state)
{
    orm_ctx c;
    (void)state;
    memset(&c, 0, sizeof c);
    faultsim(&migrate_scenario, &c, 0);
    memset(&c, 0, sizeof c);
    faultsim(&migrate_scenario, &c, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_faultsim__registry, uninstall),
        cmocka_unit_test_teardown(test_faultsim__domain_builder_bind, uninstall),
        cmocka_unit_test_teardown(test_faultsim__domain_from_json, uninstall),
        cmocka_unit_test_teardown(test_faultsim__domain_from_json_nested, uninstall),
        cmocka_unit_test_teardown(test_faultsim__sql_select, uninstall),
        cmocka_unit_test_teardown(test_faultsim__sql_group, uninstall),
        cmocka_unit_test_teardown(test_faultsim__orm_create, uninstall),
        cmocka_unit_test_teardown(test_faultsim__orm_search_read, uninstall),
        cmocka_unit_test_teardown(test_faultsim__orm_write, uninstall),
        cmocka_unit_test_teardown(test_faultsim__env_open_migrate, uninstall),
    };
    return cmocka_run_group_tests_name("faultsim", tests, NULL, NULL);
}
