/*
 * test_sql.c - SQL compilation (core/query/sql.h): the exact text and the
 * bound parameters for each operator, order, window, count and grouping,
 * with a dialect like the SQLite adapter's. Values only ever travel as
 * parameters.
 */
#include "helpers.h"
#include "query/sql.h"

/* The adapters' own dialects. */
#define sqlite_d eo_sql__sqlite
#define pg_d eo_sql__postgres

static eo_registry *reg;
static eo_model *P;

static int setup(void **state)
{
    eo_field_spec s;
    eo_error err;
    (void)state;
    reg = th_registry();
    P = th_partner(reg);
    memset(&s, 0, sizeof s);
    s.name = "child_ids";
    s.type = EO_FT_ONE2MANY;
    s.comodel = "res.partner";
    s.inverse = "parent_id";
    if (eo_model_add_field(NULL, P, &s, &err) != EO_OK)
        return -1;
    memset(&s, 0, sizeof s);
    s.name = "tag_ids";
    s.type = EO_FT_MANY2MANY;
    s.comodel = "res.tag";
    if (eo_model_add_field(NULL, P, &s, &err) != EO_OK)
        return -1;
    return eo_registry_resolve(reg, &err) == EO_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    eo_registry_free(reg);
    return 0;
}

/* A compiled query kept alive for inspection. */
typedef struct compiled {
    eo_sqlq q;
    eo_domain *d;
    eo_order_item *order;
} compiled;

static eo_domain *bound(const char *json)
{
    eo_domain *d = NULL;
    eo_error err;
    assert_eo_ok(eo_domain_from_json(&d, json, strlen(json), &err), &err);
    assert_eo_ok(eo_domain_bind(d, P, &err), &err);
    return d;
}

/* SELECT "id" for a domain, with order text and a window. */
static void compile_select(compiled *c, const eo_sql_dialect *dl, const char *json,
                           const char *order, int64_t limit, int64_t offset)
{
    eo_query qr;
    eo_error err;
    size_t norder = 0;
    const eo_field *idf = P->fields[0];
    memset(c, 0, sizeof *c);
    eo_sqlq__init(&c->q, dl);
    c->d = json ? bound(json) : NULL;
    if (order)
        assert_eo_ok(eo_order_parse(&c->order, &norder, P, order, &err), &err);
    memset(&qr, 0, sizeof qr);
    qr.model = P;
    qr.domain = c->d;
    qr.fields = &idf;
    qr.nfields = 1;
    qr.order = c->order;
    qr.norder = norder;
    qr.limit = limit;
    qr.offset = offset;
    assert_eo_ok(eo_sql__select(&c->q, &qr, &err), &err);
}

static void compiled_free(compiled *c)
{
    eo_sqlq__free(&c->q);
    eo_domain_free(c->d);
    eo_free(c->order);
}

static const eo_sqlparam *param(const compiled *c, size_t i)
{
    assert_true(i < c->q.params.len);
    return eo_vec__at(&c->q.params, i);
}

#define assert_sql(c, want)                                                          \
    do {                                                                             \
        if (strcmp((c)->q.sql.p, (want)) != 0)                                       \
            fail_msg("SQL\n  got      %s\n  expected %s", (c)->q.sql.p, (want));     \
    } while (0)

#define assert_param_text(c, i, want)                                                \
    do {                                                                             \
        const eo_sqlparam *p_ = param((c), (i));                                     \
        const char *w_ = (want);                                                     \
        assert_int_equal(p_->v.type, EO_VTEXT);                                      \
        if (p_->v.u.s.n != strlen(w_) || memcmp(p_->v.u.s.p, w_, p_->v.u.s.n) != 0)  \
            fail_msg("param %d is '%.*s', expected '%s'", (int)(i), (int)p_->v.u.s.n, \
                     p_->v.u.s.p, w_);                                               \
    } while (0)

/* memmem is a GNU extension; this is enough for tests. */
static int has_bytes(const char *hay, size_t n, const char *needle, size_t k)
{
    size_t i;
    for (i = 0; k <= n && i <= n - k; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

#define SEL "SELECT \"id\" FROM \"res_partner\""

/* WHERE of a one-domain select must be `where`, with `nparams` parameters. */
static void where_is(compiled *c, const char *json, const char *where, size_t nparams)
{
    char want[4096];
    snprintf(want, sizeof want, SEL " WHERE %s", where);
    compile_select(c, &sqlite_d, json, NULL, -1, 0);
    assert_sql(c, want);
    assert_int_equal(c->q.params.len, nparams);
}

/* ---- comparison operators ----------------------------------------- */

static void test_sql__eq(void **state)
{
    compiled c;
    (void)state;
    where_is(&c, "[[\"age\", \"=\", 5]]", "\"age\" = ?", 1);
    assert_int_equal(param(&c, 0)->v.type, EO_VINT);
    assert_int_equal(param(&c, 0)->v.u.i, 5);
    assert_int_equal(param(&c, 0)->kind, EO_SQLP_FIELD);
    assert_ptr_equal(param(&c, 0)->field, th_field(P, "age"));
    compiled_free(&c);
    where_is(&c, "[[\"name\", \"=\", \"Ann\"]]", "\"name\" = ?", 1);
    assert_param_text(&c, 0, "Ann");
    compiled_free(&c);
    /* decimals and datetimes travel canonical, typed by their field */
    where_is(&c, "[[\"price\", \"=\", 10.5]]", "\"price\" = ?", 1);
    assert_param_text(&c, 0, "10.50");
    assert_ptr_equal(param(&c, 0)->field, th_field(P, "price"));
    compiled_free(&c);
    where_is(&c, "[[\"seen_at\", \"=\", \"2024-01-02T03:04:05Z\"]]", "\"seen_at\" = ?", 1);
    assert_param_text(&c, 0, "2024-01-02 03:04:05");
    compiled_free(&c);
}

static void test_sql__ne_includes_null(void **state)
{
    compiled c;
    (void)state;
    where_is(&c, "[[\"age\", \"!=\", 5]]", "(\"age\" != ? OR \"age\" IS NULL)", 1);
    assert_int_equal(param(&c, 0)->v.u.i, 5);
    compiled_free(&c);
}

static void test_sql__null_comparisons(void **state)
{
    compiled c;
    (void)state;
    where_is(&c, "[[\"email\", \"=\", null]]", "\"email\" IS NULL", 0);
    compiled_free(&c);
    where_is(&c, "[[\"email\", \"!=\", null]]", "\"email\" IS NOT NULL", 0);
    compiled_free(&c);
}

static void test_sql__order_comparisons(void **state)
{
    static const struct { const char *op, *sql; } cases[] = {
        { "<", "\"age\" < ?" }, { "<=", "\"age\" <= ?" },
        { ">", "\"age\" > ?" }, { ">=", "\"age\" >= ?" },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        compiled c;
        char j[64];
        snprintf(j, sizeof j, "[[\"age\", \"%s\", 18]]", cases[i].op);
        where_is(&c, j, cases[i].sql, 1);
        assert_int_equal(param(&c, 0)->v.u.i, 18);
        compiled_free(&c);
    }
}

static void test_sql__negated_order_comparison(void **state)
{
    compiled c;
    (void)state;
    where_is(&c, "[\"!\", [\"age\", \">\", 18]]", "(\"age\" <= ? OR \"age\" IS NULL)", 1);
    compiled_free(&c);
}

/* ---- in / not in -------------------------------------------------- */

static void test_sql__in(void **state)
{
    compiled c;
    (void)state;
    where_is(&c, "[[\"age\", \"in\", [1, 2, 3]]]", "\"age\" IN (?, ?, ?)", 3);
    assert_int_equal(param(&c, 0)->v.u.i, 1);
    assert_int_equal(param(&c, 2)->v.u.i, 3);
    compiled_free(&c);
    where_is(&c, "[[\"age\", \"in\", [1, null]]]", "(\"age\" IN (?) OR \"age\" IS NULL)", 1);
    assert_int_equal(param(&c, 0)->v.u.i, 1);
    compiled_free(&c);
    where_is(&c, "[[\"age\", \"in\", [1, 2, null]]]", "(\"age\" IN (?, ?) OR \"age\" IS NULL)", 2);
    compiled_free(&c);
    /* Boolean = false means false or never set */
    where_is(&c, "[[\"active\", \"=\", false]]", "(\"active\" IN (?) OR \"active\" IS NULL)", 1);
    assert_int_equal(param(&c, 0)->v.type, EO_VBOOL);
    assert_int_equal(param(&c, 0)->v.u.b, 0);
    compiled_free(&c);
}

static void test_sql__not_in(void **state)
{
    compiled c;
    (void)state;
    where_is(&c, "[[\"age\", \"not in\", [1, 2]]]", "(\"age\" NOT IN (?, ?) OR \"age\" IS NULL)", 2);
    compiled_free(&c);
    /* NULL listed: NULL no longer passes */
    where_is(&c, "[[\"age\", \"not in\", [1, null]]]", "(\"age\" NOT IN (?) AND \"age\" IS NOT NULL)", 1);
    compiled_free(&c);
    where_is(&c, "[[\"active\", \"not in\", [false, null]]]",
             "(\"active\" NOT IN (?) AND \"active\" IS NOT NULL)", 1);
    compiled_free(&c);
}

static char *int_list_json(const char *field, const char *op, int n)
{
    size_t cap = (size_t)n * 12 + 64, o = 0;
    char *s = malloc(cap);
    int i;
    o += (size_t)snprintf(s + o, cap - o, "[[\"%s\", \"%s\", [", field, op);
    for (i = 1; i <= n; i++)
        o += (size_t)snprintf(s + o, cap - o, "%s%d", i > 1 ? ", " : "", i);
    snprintf(s + o, cap - o, "]]]");
    return s;
}

static void test_sql__long_list_json_each(void **state)
{
    compiled c;
    char *j = int_list_json("age", "in", 40), want[512];
    size_t o = 0;
    int i;
    (void)state;
    where_is(&c, j, "\"age\" IN (SELECT value FROM json_each(?))", 1);
    assert_int_equal(param(&c, 0)->kind, EO_SQLP_LIST);
    assert_ptr_equal(param(&c, 0)->field, th_field(P, "age"));
    want[o++] = '[';
    for (i = 1; i <= 40; i++)
        o += (size_t)snprintf(want + o, sizeof want - o, "%s%d", i > 1 ? "," : "", i);
    snprintf(want + o, sizeof want - o, "]");
    assert_param_text(&c, 0, want);
    compiled_free(&c);
    free(j);
    /* not in */
    j = int_list_json("age", "not in", 33);
    where_is(&c, j, "(\"age\" NOT IN (SELECT value FROM json_each(?)) OR \"age\" IS NULL)", 1);
    compiled_free(&c);
    free(j);
    /* 32 values still go one parameter each */
    j = int_list_json("age", "in", 32);
    compile_select(&c, &sqlite_d, j, NULL, -1, 0);
    assert_int_equal(c.q.params.len, 32);
    assert_null(strstr(c.q.sql.p, "json_each"));
    compiled_free(&c);
    free(j);
    /* decimals go as the scaled integers SQLite stores */
    j = int_list_json("price", "in", 40);
    where_is(&c, j, "\"price\" IN (SELECT value FROM json_each(?))", 1);
    o = 0;
    want[o++] = '[';
    for (i = 1; i <= 40; i++)
        o += (size_t)snprintf(want + o, sizeof want - o, "%s%d", i > 1 ? "," : "", i * 100);
    snprintf(want + o, sizeof want - o, "]");
    assert_param_text(&c, 0, want);
    compiled_free(&c);
    free(j);
    /* and as numeric[] on PostgreSQL */
    j = int_list_json("price", "in", 40);
    compile_select(&c, &pg_d, j, NULL, -1, 0);
    assert_sql(&c, SEL " WHERE (\"price\" = ANY($1::numeric[]))");
    assert_int_equal(c.q.params.len, 1);
    compiled_free(&c);
    free(j);
    /* Json values compare as wholes: one parameter each */
    j = int_list_json("data", "in", 40);
    compile_select(&c, &sqlite_d, j, NULL, -1, 0);
    assert_int_equal(c.q.params.len, 40);
    assert_null(strstr(c.q.sql.p, "json_each"));
    compiled_free(&c);
    free(j);
}

static void test_sql__long_text_list_escaped(void **state)
{
    compiled c;
    char j[4096];
    size_t o = 0;
    int i;
    const eo_sqlparam *p;
    (void)state;
    o += (size_t)snprintf(j + o, sizeof j - o, "[[\"name\", \"in\", [\"a\\\"b\\\\c\"");
    for (i = 0; i < 39; i++)
        o += (size_t)snprintf(j + o, sizeof j - o, ", \"n%d\"", i);
    snprintf(j + o, sizeof j - o, ", null]]]");
    compile_select(&c, &sqlite_d, j, NULL, -1, 0);
    assert_sql(&c, SEL " WHERE (\"name\" IN (SELECT value FROM json_each(?)) OR \"name\" IS NULL)");
    assert_int_equal(c.q.params.len, 1);
    p = param(&c, 0);
    assert_int_equal(p->v.type, EO_VTEXT);
    /* JSON-escaped, NULL left out of the list */
    assert_memory_equal(p->v.u.s.p, "[\"a\\\"b\\\\c\",\"n0\",", 16);
    assert_false(has_bytes(p->v.u.s.p, p->v.u.s.n, "null", 4));
    compiled_free(&c);
}

/* ---- like family -------------------------------------------------- */

static void test_sql__like_wraps_and_keeps_wildcards(void **state)
{
    compiled c;
    (void)state;
    /* Odoo's like: %value%, and % and _ in the value stay wildcards */
    where_is(&c, "[[\"name\", \"like\", \"50%_off\"]]", "\"name\" GLOB ?", 1);
    assert_param_text(&c, 0, "*50*?off*");
    assert_int_equal(param(&c, 0)->kind, EO_SQLP_RAW);
    assert_null(param(&c, 0)->field);
    compiled_free(&c);
    /* GLOB's own wildcards in the value are literal */
    where_is(&c, "[[\"name\", \"like\", \"a*b?c[d\"]]", "\"name\" GLOB ?", 1);
    assert_param_text(&c, 0, "*a[*]b[?]c[[]d*");
    compiled_free(&c);
    /* a backslash makes the next character literal: \\% is a percent sign */
    where_is(&c, "[[\"name\", \"like\", \"50\\\\%\\\\_\\\\\\\\x\\\\*\"]]", "\"name\" GLOB ?", 1);
    assert_param_text(&c, 0, "*50%_\\x[*]*");
    compiled_free(&c);
    /* on PostgreSQL the pattern goes as written, with ESCAPE */
    compile_select(&c, &pg_d, "[[\"name\", \"like\", \"50%_o\\\\%\"]]", NULL, -1, 0);
    assert_sql(&c, SEL " WHERE \"name\" LIKE $1 ESCAPE '\\'");
    assert_param_text(&c, 0, "%50%_o\\%%");
    compiled_free(&c);
    /* a lone backslash at the end is a backslash */
    compile_select(&c, &pg_d, "[[\"name\", \"like\", \"a\\\\\"]]", NULL, -1, 0);
    assert_param_text(&c, 0, "%a\\\\%");
    compiled_free(&c);
}

static void test_sql__ilike_lower(void **state)
{
    compiled c;
    (void)state;
    where_is(&c, "[[\"name\", \"ilike\", \"50%_Off\"]]", "lower(\"name\") LIKE lower(?) ESCAPE '\\'", 1);
    assert_param_text(&c, 0, "%50%_Off%");
    compiled_free(&c);
    where_is(&c, "[[\"name\", \"ilike\", \"a\\\\b\"]]", "lower(\"name\") LIKE lower(?) ESCAPE '\\'", 1);
    assert_param_text(&c, 0, "%a\\b%");
    compiled_free(&c);
}

static void test_sql__eqlike_is_a_pattern(void **state)
{
    compiled c;
    (void)state;
    where_is(&c, "[[\"name\", \"=like\", \"a%b_\"]]", "\"name\" GLOB ?", 1);
    assert_param_text(&c, 0, "a*b?");
    compiled_free(&c);
    where_is(&c, "[[\"name\", \"=like\", \"a*\"]]", "\"name\" GLOB ?", 1);
    assert_param_text(&c, 0, "a[*]");
    compiled_free(&c);
    where_is(&c, "[[\"name\", \"=ilike\", \"A%\"]]", "lower(\"name\") LIKE lower(?) ESCAPE '\\'", 1);
    assert_param_text(&c, 0, "A%");
    compiled_free(&c);
}

static void test_sql__not_like_includes_null(void **state)
{
    compiled c;
    (void)state;
    where_is(&c, "[[\"name\", \"not like\", \"x\"]]", "(\"name\" NOT GLOB ? OR \"name\" IS NULL)", 1);
    assert_param_text(&c, 0, "*x*");
    compiled_free(&c);
    where_is(&c, "[[\"name\", \"not ilike\", \"x\"]]",
             "(lower(\"name\") NOT LIKE lower(?) ESCAPE '\\' OR \"name\" IS NULL)", 1);
    assert_param_text(&c, 0, "%x%");
    compiled_free(&c);
}

static void test_sql__not_around_eqlike(void **state)
{
    compiled c;
    (void)state;
    where_is(&c, "[\"!\", [\"name\", \"=like\", \"a%\"]]", "NOT COALESCE((\"name\" GLOB ?), 0)", 1);
    assert_param_text(&c, 0, "a*");
    compiled_free(&c);
    compile_select(&c, &pg_d, "[\"!\", [\"name\", \"=ilike\", \"a%\"]]", NULL, -1, 0);
    assert_sql(&c, SEL " WHERE NOT COALESCE((\"name\" ILIKE $1 ESCAPE '\\'), FALSE)");
    compiled_free(&c);
}

/* A pattern longer than SQLite takes is EO_ELIMIT naming the limit. */
static void test_sql__like_pattern_limit(void **state)
{
    eo_buf j = EO_BUF_INIT;
    eo_domain *d = NULL;
    eo_sqlq q;
    eo_query qr;
    eo_error err;
    size_t i;
    const eo_field *idf = P->fields[0];
    (void)state;
    eo_buf__puts(&j, "[[\"name\", \"like\", \"");
    for (i = 0; i < 50000; i++)
        eo_buf__putc(&j, 'a');
    eo_buf__puts(&j, "\"]]");
    assert_eo_ok(eo_domain_from_json(&d, j.p, j.len, &err), &err);
    assert_eo_ok(eo_domain_bind(d, P, &err), &err);
    memset(&qr, 0, sizeof qr);
    qr.model = P;
    qr.domain = d;
    qr.fields = &idf;
    qr.nfields = 1;
    qr.limit = -1;
    eo_sqlq__init(&q, &sqlite_d);
    assert_eo_error(eo_sql__select(&q, &qr, &err), &err, EO_ELIMIT,
                    "res.partner: the 'like' pattern on 'name' is 50002 bytes; sqlite takes patterns up to 50000 bytes");
    assert_string_equal(err.field, "name");
    eo_sqlq__free(&q);
    /* PostgreSQL has no such limit */
    eo_sqlq__init(&q, &pg_d);
    assert_eo_ok(eo_sql__select(&q, &qr, &err), &err);
    eo_sqlq__free(&q);
    eo_domain_free(d);
    eo_buf__free(&j);
}

/* ---- relations ---------------------------------------------------- */

static void test_sql__any_many2one_subquery(void **state)
{
    compiled c;
    (void)state;
    where_is(&c, "[[\"parent_id.name\", \"=\", \"x\"]]",
             "\"parent_id\" IN (SELECT \"id\" FROM \"res_partner\" WHERE \"name\" = ?)", 1);
    assert_param_text(&c, 0, "x");
    compiled_free(&c);
    where_is(&c, "[[\"parent_id\", \"not any\", [[\"age\", \">\", 3]]]]",
             "(\"parent_id\" IS NULL OR \"parent_id\" NOT IN (SELECT \"id\" FROM \"res_partner\" WHERE \"age\" > ?))", 1);
    compiled_free(&c);
    /* two levels */
    where_is(&c, "[[\"parent_id.parent_id.age\", \"=\", 1]]",
             "\"parent_id\" IN (SELECT \"id\" FROM \"res_partner\" WHERE \"parent_id\" IN "
             "(SELECT \"id\" FROM \"res_partner\" WHERE \"age\" = ?))", 1);
    compiled_free(&c);
    where_is(&c, "[[\"parent_id\", \"any\", []]]", "\"parent_id\" IS NOT NULL", 0);
    compiled_free(&c);
}

static void test_sql__any_x2many_subquery(void **state)
{
    compiled c;
    (void)state;
    where_is(&c, "[[\"tag_ids.name\", \"=\", \"vip\"]]",
             "\"id\" IN (SELECT \"res_partner_id\" FROM \"res_partner_res_tag_rel\" WHERE \"res_tag_id\" IN "
             "(SELECT \"id\" FROM \"res_tag\" WHERE \"name\" = ?))", 1);
    compiled_free(&c);
    where_is(&c, "[[\"child_ids.age\", \"<\", 10]]",
             "\"id\" IN (SELECT \"parent_id\" FROM \"res_partner\" WHERE \"parent_id\" IS NOT NULL AND (\"age\" < ?))", 1);
    compiled_free(&c);
    where_is(&c, "[[\"child_ids\", \"=\", null]]",
             "\"id\" NOT IN (SELECT \"parent_id\" FROM \"res_partner\" WHERE \"parent_id\" IS NOT NULL AND (1=1))", 0);
    compiled_free(&c);
}

static void test_sql__unresolved_child_of_refused(void **state)
{
    eo_sqlq q;
    eo_domain *d = bound("[[\"parent_id\", \"child_of\", 1]]");
    eo_error err;
    (void)state;
    eo_sqlq__init(&q, &sqlite_d);
    assert_eo_error(eo_sql__where(&q, P, eo_domain_root(d), &err), &err, EO_EINVAL,
                    "operator 'child_of' must be resolved before compiling");
    eo_sqlq__free(&q);
    eo_domain_free(d);
}

static void test_sql__unbound_leaf_refused(void **state)
{
    eo_sqlq q;
    eo_domain *d = NULL;
    eo_error err;
    const char *j = "[[\"age\", \"=\", 1]]";
    (void)state;
    assert_eo_ok(eo_domain_from_json(&d, j, strlen(j), &err), &err);
    eo_sqlq__init(&q, &sqlite_d);
    assert_eo_error(eo_sql__where(&q, P, eo_domain_root(d), &err), &err, EO_EINVAL,
                    "domain leaf on 'age' is not bound");
    eo_sqlq__free(&q);
    eo_domain_free(d);
}

/* ---- logic and constants ------------------------------------------ */

static void test_sql__and_or_nesting(void **state)
{
    compiled c;
    (void)state;
    where_is(&c, "[[\"age\", \">\", 18], \"|\", [\"kind\", \"=\", \"company\"], [\"email\", \"=\", null]]",
             "(\"age\" > ? AND (\"kind\" = ? OR \"email\" IS NULL))", 2);
    assert_int_equal(param(&c, 0)->v.u.i, 18);
    assert_param_text(&c, 1, "company");
    compiled_free(&c);
}

static void test_sql__constant_domains(void **state)
{
    compiled c;
    (void)state;
    compile_select(&c, &sqlite_d, "[]", NULL, -1, 0);
    assert_sql(&c, SEL);
    assert_int_equal(c.q.params.len, 0);
    compiled_free(&c);
    compile_select(&c, &sqlite_d, NULL, NULL, -1, 0);
    assert_sql(&c, SEL);
    compiled_free(&c);
    where_is(&c, "[[\"age\", \"=\", 1], [\"age\", \"=\", 2]]", "1=0", 0);
    compiled_free(&c);
}

/* ---- order and window --------------------------------------------- */

static void test_sql__order_by(void **state)
{
    compiled c;
    (void)state;
    compile_select(&c, &sqlite_d, NULL, "age desc, name", -1, 0);
    /* SQLite sorts NULL lowest by itself */
    assert_sql(&c, SEL " ORDER BY \"age\" DESC, \"name\" ASC");
    compiled_free(&c);
    compile_select(&c, &pg_d, NULL, "age desc, name", -1, 0);
    assert_sql(&c, SEL " ORDER BY \"age\" DESC NULLS LAST, \"name\" ASC NULLS FIRST");
    compiled_free(&c);
    compile_select(&c, &sqlite_d, NULL, "  name ASC ,id DESC", -1, 0);
    assert_sql(&c, SEL " ORDER BY \"name\" ASC, \"id\" DESC");
    compiled_free(&c);
}

static void test_sql__order_parse_errors(void **state)
{
    eo_order_item *items = (eo_order_item *)1;
    size_t n = 99;
    eo_error err;
    (void)state;
    assert_eo_error(eo_order_parse(&items, &n, P, "nope desc", &err), &err, EO_EINVAL,
                    "res.partner: cannot order by 'nope': no such field");
    assert_null(items);
    assert_int_equal(n, 0);
    assert_eo_error(eo_order_parse(&items, &n, P, "age sideways", &err), &err, EO_EINVAL,
                    "res.partner: bad order direction 'sideways' for age (use asc or desc)");
    assert_string_equal(err.field, "age");
    assert_eo_error(eo_order_parse(&items, &n, P, "tag_ids", &err), &err, EO_EINVAL,
                    "res.partner: cannot order by 'tag_ids': it is not stored");
    assert_eo_error(eo_order_parse(&items, &n, P, "age desc name", &err), &err, EO_EINVAL,
                    "res.partner: cannot parse order 'age desc name'");
    assert_eo_error(eo_order_parse(&items, &n, P, "age; DROP TABLE x", &err), &err, EO_EINVAL,
                    "cannot order by 'age;'");
    /* empty text: no order */
    assert_eo_ok(eo_order_parse(&items, &n, P, "", &err), &err);
    assert_int_equal(n, 0);
    eo_free(items);
    assert_eo_ok(eo_order_parse(&items, &n, P, NULL, &err), &err);
    assert_int_equal(n, 0);
    eo_free(items);
}

static void test_sql__limit_offset_parameters(void **state)
{
    compiled c;
    (void)state;
    compile_select(&c, &sqlite_d, "[[\"age\", \">\", 1]]", "name", 10, 20);
    assert_sql(&c, SEL " WHERE \"age\" > ? ORDER BY \"name\" ASC LIMIT ? OFFSET ?");
    assert_int_equal(c.q.params.len, 3);
    assert_int_equal(param(&c, 1)->v.u.i, 10);
    assert_int_equal(param(&c, 1)->kind, EO_SQLP_RAW);
    assert_null(param(&c, 1)->field);
    assert_int_equal(param(&c, 2)->v.u.i, 20);
    compiled_free(&c);
    /* SQLite needs a LIMIT before OFFSET */
    compile_select(&c, &sqlite_d, NULL, NULL, -1, 5);
    assert_sql(&c, SEL " LIMIT -1 OFFSET ?");
    assert_int_equal(c.q.params.len, 1);
    assert_int_equal(param(&c, 0)->v.u.i, 5);
    compiled_free(&c);
    compile_select(&c, &sqlite_d, NULL, NULL, 0, 0);
    assert_sql(&c, SEL " LIMIT ?");
    assert_int_equal(param(&c, 0)->v.u.i, 0);
    compiled_free(&c);
    compile_select(&c, &pg_d, "[[\"age\", \">\", 1]]", NULL, 10, 20);
    assert_sql(&c, SEL " WHERE \"age\" > $1 LIMIT $2 OFFSET $3");
    compiled_free(&c);
    compile_select(&c, &pg_d, NULL, NULL, -1, 7);
    assert_sql(&c, SEL " OFFSET $1");
    compiled_free(&c);
}

static void test_sql__dollar_params(void **state)
{
    compiled c;
    (void)state;
    compile_select(&c, &pg_d, "[[\"age\", \"in\", [1, 2]], [\"name\", \"ilike\", \"x\"]]", NULL, -1, 0);
    assert_sql(&c, SEL " WHERE (\"age\" IN ($1, $2) AND \"name\" ILIKE $3 ESCAPE '\\')");
    assert_param_text(&c, 2, "%x%");
    compiled_free(&c);
}

/* ---- count and group ---------------------------------------------- */

static void test_sql__count(void **state)
{
    eo_sqlq q;
    eo_query qr;
    eo_domain *d = bound("[[\"age\", \">\", 18]]");
    eo_error err;
    eo_order_item order;
    (void)state;
    memset(&order, 0, sizeof order);
    order.field = th_field(P, "name");
    eo_sqlq__init(&q, &sqlite_d);
    memset(&qr, 0, sizeof qr);
    qr.model = P;
    qr.domain = d;
    qr.order = &order; /* a count ignores order and window */
    qr.norder = 1;
    qr.limit = 5;
    assert_eo_ok(eo_sql__count(&q, &qr, &err), &err);
    assert_string_equal(q.sql.p, "SELECT count(*) FROM \"res_partner\" WHERE \"age\" > ?");
    assert_int_equal(q.params.len, 1);
    eo_sqlq__reset(&q);
    qr.domain = NULL;
    assert_eo_ok(eo_sql__count(&q, &qr, &err), &err);
    assert_string_equal(q.sql.p, "SELECT count(*) FROM \"res_partner\"");
    assert_int_equal(q.params.len, 0);
    eo_sqlq__free(&q);
    eo_domain_free(d);
}

static void group_sql(const eo_sql_dialect *dl, eo_group_query *g, const char *want)
{
    eo_sqlq q;
    eo_error err;
    eo_sqlq__init(&q, dl);
    assert_eo_ok(eo_sql__group(&q, g, &err), &err);
    if (strcmp(q.sql.p, want) != 0) {
        char got[2048];
        snprintf(got, sizeof got, "%s", q.sql.p);
        eo_sqlq__free(&q);
        fail_msg("group SQL\n  got      %s\n  expected %s", got, want);
    }
    eo_sqlq__free(&q);
}

static void test_sql__group_by_with_aggregates(void **state)
{
    eo_group_key keys[2];
    eo_group_agg aggs[5];
    eo_group_query g;
    eo_domain *d = bound("[[\"active\", \"=\", true]]");
    (void)state;
    memset(&g, 0, sizeof g);
    keys[0].field = th_field(P, "kind");
    keys[0].gran = EO_GRAN_NONE;
    keys[0].name = "kind";
    keys[1].field = th_field(P, "birthday");
    keys[1].gran = EO_GRAN_MONTH;
    keys[1].name = "birthday:month";
    aggs[0].field = th_field(P, "age");
    aggs[0].agg = EO_AGG_SUM;
    aggs[1].field = th_field(P, "score");
    aggs[1].agg = EO_AGG_AVG;
    aggs[2].field = th_field(P, "email");
    aggs[2].agg = EO_AGG_COUNT_DISTINCT;
    aggs[3].field = th_field(P, "price");
    aggs[3].agg = EO_AGG_MAX;
    aggs[4].field = NULL;
    aggs[4].agg = EO_AGG_COUNT;
    g.model = P;
    g.domain = d;
    g.keys = keys;
    g.nkeys = 2;
    g.aggs = aggs;
    g.naggs = 5;
    g.limit = 10;
    group_sql(&sqlite_d, &g,
              "SELECT \"kind\", strftime('%Y-%m', \"birthday\"), count(*), sum(\"age\"), avg(\"score\"), "
              "count(DISTINCT \"email\"), max(\"price\"), count(*) FROM \"res_partner\" WHERE \"active\" = ? "
              "GROUP BY 1, 2 ORDER BY 1, 2 LIMIT ?");
    g.order_by_count_desc = 1;
    g.limit = -1;
    g.naggs = 0;
    group_sql(&sqlite_d, &g,
              "SELECT \"kind\", strftime('%Y-%m', \"birthday\"), count(*) FROM \"res_partner\" "
              "WHERE \"active\" = ? GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2");
    group_sql(&pg_d, &g,
              "SELECT \"kind\", to_char(\"birthday\", 'YYYY-MM'), count(*) FROM \"res_partner\" "
              "WHERE \"active\" = $1 GROUP BY 1, 2 ORDER BY 3 DESC, 1 NULLS FIRST, 2 NULLS FIRST");
    /* no keys: one row, no GROUP BY */
    g.nkeys = 0;
    g.domain = NULL;
    group_sql(&sqlite_d, &g, "SELECT count(*) FROM \"res_partner\"");
    eo_domain_free(d);
}

static void test_sql__group_date_granularity(void **state)
{
    static const struct { eo_granularity gran; const char *sqlite, *pg; } cases[] = {
        { EO_GRAN_DAY, "strftime('%Y-%m-%d', \"seen_at\")", "to_char(\"seen_at\", 'YYYY-MM-DD')" },
        { EO_GRAN_WEEK, "strftime('%Y-W%W', \"seen_at\")", "to_char(\"seen_at\", 'IYYY-\"W\"IW')" },
        { EO_GRAN_MONTH, "strftime('%Y-%m', \"seen_at\")", "to_char(\"seen_at\", 'YYYY-MM')" },
        { EO_GRAN_QUARTER,
          "(strftime('%Y', \"seen_at\") || '-Q' || ((CAST(strftime('%m', \"seen_at\") AS INTEGER) + 2) / 3))",
          "to_char(\"seen_at\", 'YYYY-\"Q\"Q')" },
        { EO_GRAN_YEAR, "strftime('%Y', \"seen_at\")", "to_char(\"seen_at\", 'YYYY')" },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eo_group_key k;
        eo_group_query g;
        char want[512];
        memset(&g, 0, sizeof g);
        k.field = th_field(P, "seen_at");
        k.gran = cases[i].gran;
        k.name = "seen_at";
        g.model = P;
        g.keys = &k;
        g.nkeys = 1;
        g.limit = -1;
        snprintf(want, sizeof want, "SELECT %s, count(*) FROM \"res_partner\" GROUP BY 1 ORDER BY 1",
                 cases[i].sqlite);
        group_sql(&sqlite_d, &g, want);
        snprintf(want, sizeof want,
                 "SELECT %s, count(*) FROM \"res_partner\" GROUP BY 1 ORDER BY 1 NULLS FIRST", cases[i].pg);
        group_sql(&pg_d, &g, want);
    }
}

/* ---- ids, identifiers, column types ------------------------------- */

static void test_sql__ids_in(void **state)
{
    eo_sqlq q;
    eo_error err;
    eo_id ids[40];
    int i;
    (void)state;
    for (i = 0; i < 40; i++)
        ids[i] = eo_id_num(i + 1);
    eo_sqlq__init(&q, &sqlite_d);
    assert_eo_ok(eo_sql__ids_in(&q, P, ids, 3, EO_IDNUM, &err), &err);
    assert_string_equal(q.sql.p, "\"id\" IN (?, ?, ?)");
    assert_int_equal(q.params.len, 3);
    assert_int_equal(((eo_sqlparam *)eo_vec__at(&q.params, 2))->v.u.i, 3);
    eo_sqlq__reset(&q);
    assert_eo_ok(eo_sql__ids_in(&q, P, ids, 0, EO_IDNUM, &err), &err);
    assert_string_equal(q.sql.p, "1=0");
    assert_int_equal(q.params.len, 0);
    eo_sqlq__reset(&q);
    assert_eo_ok(eo_sql__ids_in(&q, P, ids, 40, EO_IDNUM, &err), &err);
    assert_string_equal(q.sql.p, "\"id\" IN (SELECT value FROM json_each(?))");
    assert_int_equal(q.params.len, 1);
    eo_sqlq__reset(&q);
    /* ObjectIds as hex text */
    memset(ids, 0, sizeof ids);
    ids[0].oid[11] = 0xab;
    assert_eo_ok(eo_sql__ids_in(&q, P, ids, 1, EO_IDOID, &err), &err);
    {
        const eo_sqlparam *p = eo_vec__at(&q.params, 0);
        assert_int_equal(p->v.type, EO_VTEXT);
        assert_memory_equal(p->v.u.s.p, "0000000000000000000000ab", 24);
    }
    eo_sqlq__free(&q);
}

static void test_sql__ident_quoting(void **state)
{
    eo_buf b = EO_BUF_INIT;
    (void)state;
    eo_sql__ident(&b, "plain");
    eo_sql__ident(&b, "we\"ird");
    assert_string_equal(b.p, "\"plain\"\"we\"\"ird\"");
    eo_buf__free(&b);
}

static void test_sql__column_types(void **state)
{
    (void)state;
    assert_string_equal(eo_sql__coltype(&sqlite_d, th_field(P, "id")), "INTEGER");
    assert_string_equal(eo_sql__coltype(&sqlite_d, th_field(P, "name")), "TEXT");
    assert_string_equal(eo_sql__coltype(&sqlite_d, th_field(P, "age")), "INTEGER");
    assert_string_equal(eo_sql__coltype(&sqlite_d, th_field(P, "score")), "REAL");
    assert_string_equal(eo_sql__coltype(&sqlite_d, th_field(P, "active")), "INTEGER");
    assert_string_equal(eo_sql__coltype(&sqlite_d, th_field(P, "birthday")), "TEXT");
    assert_string_equal(eo_sql__coltype(&sqlite_d, th_field(P, "price")), "INTEGER"); /* scaled */
    assert_string_equal(eo_sql__coltype(&sqlite_d, th_field(P, "blob")), "BLOB");
    assert_string_equal(eo_sql__coltype(&sqlite_d, th_field(P, "parent_id")), "INTEGER");
    assert_null(eo_sql__coltype(&sqlite_d, th_field(P, "tag_ids")));
    assert_null(eo_sql__coltype(&sqlite_d, th_field(P, "child_ids")));
    assert_string_equal(eo_sql__coltype(&pg_d, th_field(P, "price")), "NUMERIC");
    assert_string_equal(eo_sql__coltype(&pg_d, th_field(P, "seen_at")), "TIMESTAMPTZ");
    assert_string_equal(eo_sql__coltype(&pg_d, th_field(P, "data")), "JSONB");
}

/* ---- injection ---------------------------------------------------- */

static const char *const payloads[] = {
    "x'); DROP TABLE res_partner; --",
    "' OR '1'='1",
    "\"; DELETE FROM \"res_partner\"; --",
    "Robert'); DROP TABLE Students;--",
    "1 OR 1=1",
    "%' UNION SELECT sql FROM sqlite_master --",
};

static void no_payload_in_text(const compiled *c, const char *payload)
{
    /* the text holds no part of the payload: only placeholders */
    if (strstr(c->q.sql.p, "DROP") || strstr(c->q.sql.p, "DELETE") || strstr(c->q.sql.p, "UNION") ||
        strstr(c->q.sql.p, "OR '") || strstr(c->q.sql.p, "1=1") || strstr(c->q.sql.p, payload))
        fail_msg("payload reached the SQL text: %s", c->q.sql.p);
}

static int param_contains(const compiled *c, const char *payload)
{
    size_t i, n = strlen(payload);
    for (i = 0; i < c->q.params.len; i++) {
        const eo_sqlparam *p = eo_vec__at(&c->q.params, i);
        if (p->v.type == EO_VTEXT && has_bytes(p->v.u.s.p, p->v.u.s.n, payload, n))
            return 1;
    }
    return 0;
}

static void test_sql__injection_payloads_are_parameters(void **state)
{
    static const char *const ops[] = { "=", "!=", "like", "ilike", "not like", "=like", "<", "in" };
    size_t i, k;
    (void)state;
    for (i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        for (k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            eo_buf j = EO_BUF_INIT;
            compiled c;
            eo_buf__printf(&j, "[[\"name\", \"%s\", ", ops[k]);
            if (strcmp(ops[k], "in") == 0)
                eo_buf__puts(&j, "[");
            eo_buf__putc(&j, '"');
            {
                const char *p;
                for (p = payloads[i]; *p; p++) {
                    if (*p == '"' || *p == '\\')
                        eo_buf__putc(&j, '\\');
                    eo_buf__putc(&j, *p);
                }
            }
            eo_buf__puts(&j, strcmp(ops[k], "in") == 0 ? "\", \"b\"]]]" : "\"]]");
            compile_select(&c, &sqlite_d, j.p, NULL, -1, 0);
            no_payload_in_text(&c, payloads[i]);
            /* like patterns are translated (GLOB, wildcards): only never in the text */
            if (strstr(ops[k], "like") == NULL && !param_contains(&c, payloads[i]))
                fail_msg("payload %s with %s is not among the parameters", payloads[i], ops[k]);
            compiled_free(&c);
            eo_buf__free(&j);
        }
    }
}

static void test_sql__injection_long_list_and_subquery(void **state)
{
    eo_buf j = EO_BUF_INIT;
    compiled c;
    int i;
    (void)state;
    eo_buf__puts(&j, "[[\"name\", \"in\", [\"x'); DROP TABLE res_partner; --\"");
    for (i = 0; i < 40; i++)
        eo_buf__printf(&j, ", \"v%d\"", i);
    eo_buf__puts(&j, "]], [\"parent_id.email\", \"=\", \"' OR '1'='1\"]]");
    compile_select(&c, &sqlite_d, j.p, NULL, -1, 0);
    no_payload_in_text(&c, "x'); DROP TABLE res_partner; --");
    assert_sql(&c, SEL " WHERE (\"name\" IN (SELECT value FROM json_each(?)) AND \"parent_id\" IN "
                   "(SELECT \"id\" FROM \"res_partner\" WHERE \"email\" = ?))");
    assert_true(param_contains(&c, "x'); DROP TABLE res_partner; --"));
    assert_true(param_contains(&c, "' OR '1'='1"));
    compiled_free(&c);
    eo_buf__free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql__eq),
        cmocka_unit_test(test_sql__ne_includes_null),
        cmocka_unit_test(test_sql__null_comparisons),
        cmocka_unit_test(test_sql__order_comparisons),
        cmocka_unit_test(test_sql__negated_order_comparison),
        cmocka_unit_test(test_sql__in),
        cmocka_unit_test(test_sql__not_in),
        cmocka_unit_test(test_sql__long_list_json_each),
        cmocka_unit_test(test_sql__long_text_list_escaped),
        cmocka_unit_test(test_sql__like_wraps_and_keeps_wildcards),
        cmocka_unit_test(test_sql__like_pattern_limit),
        cmocka_unit_test(test_sql__ilike_lower),
        cmocka_unit_test(test_sql__eqlike_is_a_pattern),
        cmocka_unit_test(test_sql__not_like_includes_null),
        cmocka_unit_test(test_sql__not_around_eqlike),
        cmocka_unit_test(test_sql__any_many2one_subquery),
        cmocka_unit_test(test_sql__any_x2many_subquery),
        cmocka_unit_test(test_sql__unresolved_child_of_refused),
        cmocka_unit_test(test_sql__unbound_leaf_refused),
        cmocka_unit_test(test_sql__and_or_nesting),
        cmocka_unit_test(test_sql__constant_domains),
        cmocka_unit_test(test_sql__order_by),
        cmocka_unit_test(test_sql__order_parse_errors),
        cmocka_unit_test(test_sql__limit_offset_parameters),
        cmocka_unit_test(test_sql__dollar_params),
        cmocka_unit_test(test_sql__count),
        cmocka_unit_test(test_sql__group_by_with_aggregates),
        cmocka_unit_test(test_sql__group_date_granularity),
        cmocka_unit_test(test_sql__ids_in),
        cmocka_unit_test(test_sql__ident_quoting),
        cmocka_unit_test(test_sql__column_types),
        cmocka_unit_test(test_sql__injection_payloads_are_parameters),
        cmocka_unit_test(test_sql__injection_long_list_and_subquery),
    };
    return cmocka_run_group_tests_name("sql", tests, setup, teardown);
}
