/*
 * test_domain.c - domains: the builder, JSON parsing, binding to a model
 * and normalization (checked through eo_domain_to_string), and every
 * malformed input with its code and message.
 */
#include <pthread.h>

#include "helpers.h"
#include "query/sql.h"

static eo_registry *reg;
static eo_model *P, *T;

static int setup(void **state)
{
    eo_field_spec s;
    eo_error err;
    (void)state;
    reg = th_registry();
    P = th_partner(reg);
    T = eo_registry_find(reg, "res.tag");
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
    memset(&s, 0, sizeof s);
    s.name = "notes";
    s.type = EO_FT_TEXT;
    if (eo_model_add_field(NULL, P, &s, &err) != EO_OK)
        return -1;
    memset(&s, 0, sizeof s);
    s.name = "dbl"; /* computed, not stored: nothing to search in */
    s.type = EO_FT_INTEGER;
    s.flags = EO_FF_COMPUTED;
    if (eo_model_add_field(NULL, P, &s, &err) != EO_OK)
        return -1;
    memset(&s, 0, sizeof s);
    s.name = "total"; /* computed and stored: a column like any other */
    s.type = EO_FT_INTEGER;
    s.flags = EO_FF_COMPUTED;
    s.store = 1;
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

/* The normalized form of `json` on res.partner must be `want`. */
static void norm_is(const char *json, const char *want)
{
    char *got = th_norm(P, json);
    if (strcmp(got, want) != 0) {
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", got);
        eo_free(got);
        fail_msg("%s\n  normalized to %s\n  expected     %s", json, copy, want);
    }
    eo_free(got);
}

/* Parse `json`; expect the parse itself to fail. */
static void parse_fails(const char *json, int code, const char *needle)
{
    eo_domain *d = (eo_domain *)1;
    eo_error err;
    assert_eo_error(eo_domain_from_json(&d, json, strlen(json), &err), &err, code, needle);
    assert_null(d);
}

/* Parse `json` (must succeed), then expect binding to res.partner to fail. */
static void bind_fails(const char *json, int code, const char *needle, const char *field)
{
    eo_domain *d = NULL;
    eo_error err;
    assert_eo_ok(eo_domain_from_json(&d, json, strlen(json), &err), &err);
    assert_eo_error(eo_domain_bind(d, P, &err), &err, code, needle);
    if (field)
        assert_string_equal(err.field, field);
    assert_null(eo_domain_model(d));
    eo_domain_free(d);
}

static char *unbound_str(eo_domain *d)
{
    char *s = NULL;
    eo_error err;
    assert_eo_ok(eo_domain_to_string(&s, d, &err), &err);
    return s;
}

/* ---- operators ---------------------------------------------------- */

static void test_domain__dop_parse_and_name(void **state)
{
    static const char *const names[] = {
        "=", "!=", ">", ">=", "<", "<=", "in", "not in", "like", "ilike",
        "not like", "not ilike", "=like", "=ilike", "child_of", "parent_of",
        "any", "not any", "=?",
    };
    eo_dop op;
    int i;
    (void)state;
    for (i = 0; i < EO_OP__COUNT; i++) {
        assert_int_equal(eo_dop_parse(&op, names[i], strlen(names[i])), EO_OK);
        assert_int_equal(op, i);
        assert_string_equal(eo_dop_name((eo_dop)i), names[i]);
    }
    assert_int_equal(eo_dop_parse(&op, "<>", 2), EO_OK);
    assert_int_equal(op, EO_OP_NE);
    assert_int_equal(eo_dop_parse(&op, "==", 2), EO_OK);
    assert_int_equal(op, EO_OP_EQ);
    assert_int_equal(eo_dop_parse(&op, "not  in", 7), EO_EINVAL);
    assert_int_equal(eo_dop_parse(&op, "LIKE", 4), EO_EINVAL);
    assert_int_equal(eo_dop_parse(&op, "in", 1), EO_EINVAL); /* length counts */
    assert_int_equal(eo_dop_parse(&op, "", 0), EO_EINVAL);
    assert_string_equal(eo_dop_name(EO_OP__COUNT), "?");
}

/* ---- the builder -------------------------------------------------- */

static void test_domain__builder_implicit_and(void **state)
{
    eo_dbuilder *b = NULL;
    eo_domain *d = NULL;
    eo_error err;
    eo_value v18 = eo_int(18), ann = eo_cstr("Ann");
    const eo_dnode *root;
    char *s;
    (void)state;
    assert_eo_ok(eo_dbuilder_new(&b, &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(b, "age", ">", &v18, &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(b, "name", "=", &ann, &err), &err);
    assert_eo_ok(eo_dbuilder_finish(&d, b, &err), &err);
    root = eo_domain_root(d);
    assert_int_equal(root->kind, EO_D_AND);
    assert_int_equal(root->nkids, 2);
    assert_string_equal(root->kids[0]->path, "age"); /* written order */
    assert_int_equal(root->kids[0]->op, EO_OP_GT);
    assert_int_equal(root->kids[0]->value.u.i, 18);
    assert_string_equal(root->kids[1]->path, "name");
    assert_null(eo_domain_model(d));
    assert_false(eo_domain_is_true(d));
    s = unbound_str(d);
    assert_string_equal(s, "[\"&\", [\"age\", \">\", 18], [\"name\", \"=\", \"Ann\"]]");
    eo_free(s);
    eo_domain_free(d);
}

static void test_domain__builder_prefix_operators(void **state)
{
    eo_dbuilder *b = NULL;
    eo_domain *d = NULL;
    eo_error err;
    eo_value v1 = eo_int(1), v2 = eo_int(2), v3 = eo_int(3);
    const eo_dnode *root;
    char *s;
    (void)state;
    /* | A B, ! C  ->  (A or B) and not C */
    assert_eo_ok(eo_dbuilder_new(&b, &err), &err);
    assert_eo_ok(eo_dbuilder_op(b, '|', &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(b, "age", "=", &v1, &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(b, "age", "=", &v2, &err), &err);
    assert_eo_ok(eo_dbuilder_op(b, '!', &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(b, "age", "=", &v3, &err), &err);
    assert_eo_ok(eo_dbuilder_finish(&d, b, &err), &err);
    root = eo_domain_root(d);
    assert_int_equal(root->kind, EO_D_AND);
    assert_int_equal(root->nkids, 2);
    assert_int_equal(root->kids[0]->kind, EO_D_OR);
    assert_int_equal(root->kids[0]->kids[0]->value.u.i, 1);
    assert_int_equal(root->kids[0]->kids[1]->value.u.i, 2);
    assert_int_equal(root->kids[1]->kind, EO_D_NOT);
    assert_int_equal(root->kids[1]->nkids, 1);
    assert_int_equal(root->kids[1]->kids[0]->value.u.i, 3);
    s = unbound_str(d);
    assert_string_equal(s, "[\"&\", \"|\", [\"age\", \"=\", 1], [\"age\", \"=\", 2], \"!\", [\"age\", \"=\", 3]]");
    eo_free(s);
    eo_domain_free(d);
}

static void test_domain__builder_copies_input(void **state)
{
    eo_dbuilder *b = NULL;
    eo_domain *d = NULL;
    eo_error err;
    char path[] = "name", text[] = "Ann";
    eo_value v = eo_cstr(text);
    eo_value list[2];
    char a[] = "x", c[] = "y";
    const eo_dnode *root;
    (void)state;
    list[0] = eo_cstr(a);
    list[1] = eo_cstr(c);
    assert_eo_ok(eo_dbuilder_new(&b, &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(b, path, "=", &v, &err), &err);
    assert_eo_ok(eo_dbuilder_leaf_list(b, path, "in", list, 2, &err), &err);
    path[0] = 'X';
    text[0] = 'X';
    a[0] = 'X';
    c[0] = 'X';
    assert_eo_ok(eo_dbuilder_finish(&d, b, &err), &err);
    root = eo_domain_root(d);
    assert_string_equal(root->kids[0]->path, "name");
    assert_memory_equal(root->kids[0]->value.u.s.p, "Ann", 3);
    assert_int_equal(root->kids[1]->vkind, EO_DV_LIST);
    assert_int_equal(root->kids[1]->nlist, 2);
    assert_memory_equal(root->kids[1]->list[0].u.s.p, "x", 1);
    assert_memory_equal(root->kids[1]->list[1].u.s.p, "y", 1);
    eo_domain_free(d);
}

static void test_domain__builder_scalar_in_is_list(void **state)
{
    eo_dbuilder *b = NULL;
    eo_domain *d = NULL;
    eo_error err;
    eo_value v = eo_int(5);
    const eo_dnode *root;
    (void)state;
    assert_eo_ok(eo_dbuilder_new(&b, &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(b, "age", "in", &v, &err), &err);
    assert_eo_ok(eo_dbuilder_finish(&d, b, &err), &err);
    root = eo_domain_root(d);
    assert_int_equal(root->kind, EO_D_LEAF);
    assert_int_equal(root->vkind, EO_DV_LIST);
    assert_int_equal(root->nlist, 1);
    assert_int_equal(root->list[0].u.i, 5);
    /* bound, a list of one becomes = */
    assert_eo_ok(eo_domain_bind(d, P, &err), &err);
    root = eo_domain_root(d);
    assert_int_equal(root->op, EO_OP_EQ);
    assert_int_equal(root->vkind, EO_DV_VALUE);
    assert_int_equal(root->value.u.i, 5);
    assert_ptr_equal(root->field, th_field(P, "age"));
    assert_ptr_equal(eo_domain_model(d), P);
    eo_domain_free(d);
}

static void test_domain__builder_sub_domain(void **state)
{
    eo_dbuilder *b = NULL, *sb = NULL;
    eo_domain *sub = NULL, *d = NULL;
    eo_error err;
    eo_value v = eo_cstr("Ann");
    char *s;
    (void)state;
    assert_eo_ok(eo_dbuilder_new(&sb, &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(sb, "name", "=", &v, &err), &err);
    assert_eo_ok(eo_dbuilder_finish(&sub, sb, &err), &err);
    assert_eo_ok(eo_dbuilder_new(&b, &err), &err);
    assert_eo_ok(eo_dbuilder_leaf_sub(b, "parent_id", "any", sub, &err), &err); /* consumes sub */
    assert_eo_ok(eo_dbuilder_finish(&d, b, &err), &err);
    assert_eo_ok(eo_domain_bind(d, P, &err), &err);
    s = unbound_str(d);
    assert_string_equal(s, "[[\"parent_id\", \"any\", [[\"name\", \"=\", \"Ann\"]]]]");
    eo_free(s);
    eo_domain_free(d);
}

static void test_domain__builder_errors(void **state)
{
    eo_dbuilder *b = NULL;
    eo_domain *sub = NULL;
    eo_error err;
    eo_value v = eo_int(1);
    (void)state;
    assert_eo_ok(eo_dbuilder_new(&b, &err), &err);
    assert_eo_error(eo_dbuilder_op(b, 'x', &err), &err, EO_EINVAL,
                    "domain: unknown logical operator 'x' (use '&', '|' or '!')");
    assert_eo_error(eo_dbuilder_leaf(b, "age", "=~", &v, &err), &err, EO_EINVAL,
                    "domain leaf {age, =~, ...}: unknown operator '=~'");
    assert_eo_error(eo_dbuilder_leaf(b, "", "=", &v, &err), &err, EO_EINVAL,
                    "domain leaf 1: the field name is empty");
    assert_eo_error(eo_dbuilder_leaf(b, NULL, "=", &v, &err), &err, EO_EINVAL,
                    "eo_dbuilder_leaf: path is NULL");
    assert_eo_error(eo_dbuilder_leaf(b, "parent_id", "any", &v, &err), &err, EO_EINVAL,
                    "domain leaf {parent_id, any, ...}: the value must be a domain (a list of leaves)");
    assert_eo_error(eo_dbuilder_leaf_list(b, "age", "=", &v, 1, &err), &err, EO_EINVAL,
                    "domain leaf {age, =, ...}: operator '=' takes one value, not a list");
    assert_eo_ok(eo_domain_new_true(&sub, &err), &err);
    assert_eo_error(eo_dbuilder_leaf_sub(b, "age", "=", sub, &err), &err, EO_EINVAL,
                    "domain leaf {age, =, ...}: only 'any' and 'not any' take a domain as value");
    assert_eo_ok(eo_domain_new_true(&sub, &err), &err);
    assert_eo_error(eo_dbuilder_leaf_sub(b, "age", "~", sub, &err), &err, EO_EINVAL,
                    "unknown operator '~'"); /* sub freed on this path too */
    eo_dbuilder_free(b);
    eo_dbuilder_free(NULL);
}

static void test_domain__builder_unbalanced(void **state)
{
    eo_dbuilder *b = NULL;
    eo_domain *d = (eo_domain *)1;
    eo_error err;
    eo_value v = eo_int(1);
    (void)state;
    /* '|' with one operand */
    assert_eo_ok(eo_dbuilder_new(&b, &err), &err);
    assert_eo_ok(eo_dbuilder_op(b, '|', &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(b, "age", "=", &v, &err), &err);
    assert_eo_error(eo_dbuilder_finish(&d, b, &err), &err, EO_EINVAL,
                    "unbalanced domain: '|' at position 1 needs 2 operands, found 1");
    assert_null(d); /* and b was freed */
    /* '!' with none */
    assert_eo_ok(eo_dbuilder_new(&b, &err), &err);
    assert_eo_ok(eo_dbuilder_op(b, '!', &err), &err);
    assert_eo_error(eo_dbuilder_finish(&d, b, &err), &err, EO_EINVAL,
                    "unbalanced domain: '!' at position 1 needs 1 operand, found 0");
    /* '&' '&' A B: the outer '&' lacks its second operand */
    assert_eo_ok(eo_dbuilder_new(&b, &err), &err);
    assert_eo_ok(eo_dbuilder_op(b, '&', &err), &err);
    assert_eo_ok(eo_dbuilder_op(b, '&', &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(b, "age", "=", &v, &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(b, "age", "=", &v, &err), &err);
    assert_eo_error(eo_dbuilder_finish(&d, b, &err), &err, EO_EINVAL,
                    "'&' at position 1 needs 2 operands, found 1");
    /* operator after its operands */
    assert_eo_ok(eo_dbuilder_new(&b, &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(b, "age", "=", &v, &err), &err);
    assert_eo_ok(eo_dbuilder_op(b, '|', &err), &err);
    assert_eo_error(eo_dbuilder_finish(&d, b, &err), &err, EO_EINVAL,
                    "'|' at position 2 needs 2 operands, found 0");
}

static void test_domain__empty_and_true(void **state)
{
    eo_dbuilder *b = NULL;
    eo_domain *d = NULL;
    eo_error err;
    char *s;
    (void)state;
    assert_eo_ok(eo_dbuilder_new(&b, &err), &err);
    assert_eo_ok(eo_dbuilder_finish(&d, b, &err), &err);
    assert_true(eo_domain_is_true(d));
    assert_false(eo_domain_is_false(d));
    assert_eo_ok(eo_domain_bind(d, P, &err), &err);
    assert_true(eo_domain_is_true(d));
    s = unbound_str(d);
    assert_string_equal(s, "[]");
    eo_free(s);
    eo_domain_free(d);
    assert_eo_ok(eo_domain_new_true(&d, &err), &err);
    assert_int_equal(eo_domain_root(d)->kind, EO_D_TRUE);
    eo_domain_free(d);
    eo_domain_free(NULL);
}

/* ---- JSON --------------------------------------------------------- */

static void test_domain__json_values(void **state)
{
    const char *j = "[[\"name\", \"=\", \"Ann\"], \"|\", [\"age\", \">\", 18], [\"email\", \"=\", null],"
                    " [\"score\", \"<\", 2.5], [\"active\", \"=\", true], [\"kind\", \"in\", [\"a\", \"b\"]]]";
    eo_domain *d = NULL;
    eo_error err;
    const eo_dnode *root, *n;
    char *s;
    (void)state;
    assert_eo_ok(eo_domain_from_json(&d, j, strlen(j), &err), &err);
    root = eo_domain_root(d);
    assert_int_equal(root->kind, EO_D_AND);
    assert_int_equal(root->nkids, 5);
    n = root->kids[0];
    assert_int_equal(n->value.type, EO_VTEXT);
    n = root->kids[1];
    assert_int_equal(n->kind, EO_D_OR);
    assert_int_equal(n->kids[0]->value.type, EO_VINT);
    assert_int_equal(n->kids[1]->value.type, EO_VNULL);
    assert_int_equal(root->kids[2]->value.type, EO_VFLOAT);
    assert_int_equal(root->kids[3]->value.type, EO_VBOOL);
    assert_int_equal(root->kids[4]->vkind, EO_DV_LIST);
    assert_int_equal(root->kids[4]->nlist, 2);
    s = unbound_str(d);
    assert_string_equal(s, "[\"&\", \"&\", \"&\", \"&\", [\"name\", \"=\", \"Ann\"], \"|\", [\"age\", \">\", 18], "
                           "[\"email\", \"=\", null], [\"score\", \"<\", 2.5], [\"active\", \"=\", true], "
                           "[\"kind\", \"in\", [\"a\", \"b\"]]]");
    eo_free(s);
    eo_domain_free(d);
}

static void test_domain__json_empty(void **state)
{
    eo_domain *d = NULL;
    eo_error err;
    (void)state;
    assert_eo_ok(eo_domain_from_json(&d, "", 0, &err), &err);
    assert_true(eo_domain_is_true(d));
    eo_domain_free(d);
    assert_eo_ok(eo_domain_from_json(&d, " \n\t", 3, &err), &err);
    assert_true(eo_domain_is_true(d));
    eo_domain_free(d);
    assert_eo_ok(eo_domain_from_json(&d, "[]", 2, &err), &err);
    assert_true(eo_domain_is_true(d));
    eo_domain_free(d);
    /* the length is honoured: text past it is not read */
    assert_eo_ok(eo_domain_from_json(&d, "[]garbage", 2, &err), &err);
    assert_true(eo_domain_is_true(d));
    eo_domain_free(d);
}

static void test_domain__json_object_value_is_data(void **state)
{
    /* no operator injection: an object is matched as JSON text */
    const char *j = "[[\"name\", \"=\", {\"$gt\": \"\"}]]";
    eo_domain *d = NULL;
    eo_error err;
    const eo_dnode *n;
    (void)state;
    assert_eo_ok(eo_domain_from_json(&d, j, strlen(j), &err), &err);
    assert_eo_ok(eo_domain_bind(d, P, &err), &err);
    n = eo_domain_root(d);
    assert_int_equal(n->kind, EO_D_LEAF);
    assert_int_equal(n->op, EO_OP_EQ);
    assert_int_equal(n->value.type, EO_VTEXT);
    assert_non_null(memchr(n->value.u.s.p, '$', n->value.u.s.n));
    eo_domain_free(d);
}

static void test_domain__json_leaf_arity(void **state)
{
    (void)state;
    parse_fails("[[\"a\", \"=\"]]", EO_EINVAL,
                "domain leaf 1 has 2 elements, expected 3: [field, operator, value]");
    parse_fails("[[\"a\", \"=\", 1, 2]]", EO_EINVAL,
                "domain leaf 1 has 4 elements, expected 3: [field, operator, value]");
    parse_fails("[[\"a\"]]", EO_EINVAL, "domain leaf 1 has 1 element, expected 3");
    parse_fails("[[]]", EO_EINVAL, "domain leaf 1 has 0 elements, expected 3");
    parse_fails("[[\"age\", \"=\", 1], \"|\", [\"a\", \"=\"]]", EO_EINVAL,
                "domain leaf 3 has 2 elements");
}

static void test_domain__json_non_string_field_or_operator(void **state)
{
    (void)state;
    parse_fails("[[1, \"=\", 1]]", EO_EINVAL, "domain leaf 1: the field name must be a string");
    parse_fails("[[null, \"=\", 1]]", EO_EINVAL, "the field name must be a string");
    parse_fails("[[\"a\", 2, 1]]", EO_EINVAL, "domain leaf 1: the operator must be a string");
    parse_fails("[[\"a\", [\"=\"], 1]]", EO_EINVAL, "the operator must be a string");
}

static void test_domain__json_unknown_operator(void **state)
{
    (void)state;
    parse_fails("[[\"age\", \"=~\", 1]]", EO_EINVAL, "domain leaf {age, =~, ...}: unknown operator '=~'");
    parse_fails("[[\"age\", \"\", 1]]", EO_EINVAL, "unknown operator ''");
    parse_fails("[[\"age\", \"IN\", [1]]]", EO_EINVAL, "unknown operator 'IN'");
}

static void test_domain__json_bad_elements(void **state)
{
    (void)state;
    parse_fails("[\"&&\", [\"a\", \"=\", 1], [\"b\", \"=\", 1]]", EO_EINVAL,
                "domain element 1: '&&' is not '&', '|' or '!'");
    parse_fails("[\"and\"]", EO_EINVAL, "'and' is not '&', '|' or '!'");
    parse_fails("[5]", EO_EINVAL,
                "domain element 1: expected an operator string or a [field, operator, value] leaf");
    parse_fails("[[\"a\", \"=\", 1], {\"a\": 1}]", EO_EINVAL,
                "domain element 2: expected an operator string");
    parse_fails("[[\"age\", \"in\", [1, [2]]]]", EO_EINVAL, "domain leaf 1: a list value cannot hold lists");
    parse_fails("[[\"age\", \"=\", [1, 2]]]", EO_EINVAL,
                "domain leaf {age, =, ...}: operator '=' takes one value, not a list");
    parse_fails("[[\"parent_id\", \"any\", 5]]", EO_EINVAL,
                "domain leaf {parent_id, any, ...}: the value must be a domain");
    parse_fails("[[\"parent_id\", \"any\", [[\"name\"]]]]", EO_EINVAL, "domain leaf 1 has 1 element");
}

/* JSON is read literally: an Extended JSON wrapper is an object like any other. */
static void test_domain__json_is_literal(void **state)
{
    static const char *const objs[] = {
        "{\"$oid\": \"0123456789abcdef01234567\"}", "{\"$date\": 0}", "{\"$numberLong\": \"5\"}",
        "{\"$regex\": \"a\", \"$options\": \"i\"}", "{ \"a\" :  [1, 2.50, {\"b\": null}] }",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof objs / sizeof objs[0]; i++) {
        char j[256];
        eo_domain *d = NULL;
        eo_error err;
        const eo_dnode *n;
        snprintf(j, sizeof j, "[[\"data\", \"=\", %s], [\"data\", \"in\", [%s, 7]]]", objs[i], objs[i]);
        assert_eo_ok(eo_domain_from_json(&d, j, strlen(j), &err), &err);
        n = eo_domain_root(d);
        assert_int_equal(n->kind, EO_D_AND);
        /* the object's text exactly as written, in a leaf and in a list */
        assert_int_equal(n->kids[0]->value.type, EO_VTEXT);
        assert_int_equal(n->kids[0]->value.u.s.n, strlen(objs[i]));
        assert_memory_equal(n->kids[0]->value.u.s.p, objs[i], strlen(objs[i]));
        assert_int_equal(n->kids[1]->nlist, 2);
        assert_memory_equal(n->kids[1]->list[0].u.s.p, objs[i], strlen(objs[i]));
        assert_int_equal(n->kids[1]->list[1].u.i, 7);
        eo_domain_free(d);
    }
    /* the strict reader's refusals */
    parse_fails("[[\"score\", \"=\", NaN]]", EO_EINVAL, "domain: invalid JSON: NaN and Infinity are not JSON numbers");
    parse_fails("[[\"name\", \"=\", \"a\"], ]", EO_EINVAL, "domain: invalid JSON");
    parse_fails("[[\"name\", \"=\", \"\\u0000\"]]", EO_EINVAL, "domain: invalid JSON");
}

static void test_domain__json_unbalanced(void **state)
{
    (void)state;
    parse_fails("[\"|\", [\"age\", \"=\", 1]]", EO_EINVAL,
                "unbalanced domain: '|' at position 1 needs 2 operands, found 1");
    parse_fails("[\"!\"]", EO_EINVAL, "unbalanced domain: '!' at position 1 needs 1 operand, found 0");
    parse_fails("[[\"age\", \"=\", 1], \"&\"]", EO_EINVAL, "'&' at position 2 needs 2 operands, found 0");
    parse_fails("[\"&\", \"|\", [\"a\", \"=\", 1], [\"a\", \"=\", 2]]", EO_EINVAL,
                "'&' at position 1 needs 2 operands, found 1");
}

static void test_domain__json_invalid_text(void **state)
{
    eo_domain *d = (eo_domain *)1;
    eo_error err;
    (void)state;
    parse_fails("[1", EO_EINVAL, "domain: invalid JSON");
    parse_fails("[[\"a\", \"=\", 1]", EO_EINVAL, "domain: invalid JSON");
    parse_fails("[1,]", EO_EINVAL, "domain: invalid JSON");
    parse_fails("['a']", EO_EINVAL, "domain: invalid JSON");
    parse_fails("[[1 2]]", EO_EINVAL, "domain: invalid JSON");
    assert_eo_error(eo_domain_from_json(&d, "[tru]", 5, &err), &err, EO_EINVAL, "invalid JSON");
    assert_int_equal(err.domain, EO_DOMAIN_JSON);
}

static void test_domain__json_not_an_array(void **state)
{
    (void)state;
    parse_fails("{\"age\": 1}", EO_EINVAL, "domain: expected a JSON array");
    parse_fails("\"age\"", EO_EINVAL, "domain: expected a JSON array");
    parse_fails("42", EO_EINVAL, "domain: expected a JSON array");
    parse_fails("null", EO_EINVAL, "domain: expected a JSON array");
}

static char *nested_any(int depth)
{
    size_t cap = (size_t)depth * 40 + 64, o = 0;
    char *s = malloc(cap);
    int i;
    for (i = 0; i < depth; i++)
        o += (size_t)snprintf(s + o, cap - o, "[[\"parent_id\", \"any\", ");
    o += (size_t)snprintf(s + o, cap - o, "[[\"name\", \"=\", \"x\"]]");
    for (i = 0; i < depth; i++)
        o += (size_t)snprintf(s + o, cap - o, "]]");
    return s;
}

static void test_domain__json_nested_any_depth(void **state)
{
    eo_domain *d = NULL;
    eo_error err;
    char *ok = nested_any(20), *deep = nested_any(70);
    (void)state;
    assert_eo_ok(eo_domain_from_json(&d, ok, strlen(ok), &err), &err);
    assert_eo_ok(eo_domain_bind(d, P, &err), &err);
    eo_domain_free(d);
    d = (eo_domain *)1;
    assert_eo_error(eo_domain_from_json(&d, deep, strlen(deep), &err), &err, EO_ELIMIT,
                    "domain nests more than 64 levels deep ('any' sub-domains)");
    assert_null(d);
    /* an object value nested past the JSON reader's 256 levels */
    {
        char j[2048];
        size_t o = 0;
        int i;
        o += (size_t)snprintf(j + o, sizeof j - o, "[[\"data\", \"=\", ");
        for (i = 0; i < 100; i++)
            j[o++] = '[';
        for (i = 0; i < 100; i++)
            j[o++] = ']';
        snprintf(j + o, sizeof j - o, "]]");
        assert_eo_error(eo_domain_from_json(&d, j, strlen(j), &err), &err, EO_EINVAL,
                        "domain leaf 1: a list value cannot hold lists");
        o = (size_t)snprintf(j, sizeof j, "[[\"data\", \"=\", ");
        for (i = 0; i < 300; i++)
            o += (size_t)snprintf(j + o, sizeof j - o, "{\"a\":");
        o += (size_t)snprintf(j + o, sizeof j - o, "1");
        for (i = 0; i < 300; i++)
            j[o++] = '}';
        snprintf(j + o, sizeof j - o, "]]");
        assert_eo_error(eo_domain_from_json(&d, j, strlen(j), &err), &err, EO_ELIMIT,
                        "domain: the JSON nests deeper than 256 levels");
    }
    assert_null(d);
    free(ok);
    free(deep);
}

/* ---- binding errors ----------------------------------------------- */

static void test_domain__bind_unknown_field(void **state)
{
    (void)state;
    bind_fails("[[\"nope\", \"=\", 1]]", EO_EINVAL,
               "res.partner: no field 'nope' in domain leaf [\"nope\", \"=\", 1]", "nope");
    bind_fails("[[\"age\", \"=\", 1], [\"agee\", \">\", 2]]", EO_EINVAL, "no field 'agee'", "agee");
    /* on the comodel of a path */
    bind_fails("[[\"parent_id.nope\", \"=\", 1]]", EO_EINVAL, "res.partner: no field 'nope'", "nope");
    bind_fails("[[\"tag_ids.color\", \"=\", 1]]", EO_EINVAL, "res.tag: no field 'color'", "color");
}

static void test_domain__bind_like_on_integer(void **state)
{
    (void)state;
    bind_fails("[[\"age\", \"like\", \"1\"]]", EO_EINVAL,
               "operator 'like' does not apply to Integer field 'age' (a 'like' operator applies to text fields only)",
               "age");
    bind_fails("[[\"price\", \"ilike\", \"1\"]]", EO_EINVAL, "operator 'ilike' does not apply to Decimal field 'price'",
               "price");
    bind_fails("[[\"active\", \"=like\", \"1\"]]", EO_EINVAL, "does not apply to Boolean field 'active'", "active");
}

static void test_domain__bind_order_with_null(void **state)
{
    (void)state;
    bind_fails("[[\"age\", \">\", null]]", EO_EINVAL,
               "res.partner: operator '>' cannot compare with null (use = or !=) in domain leaf [\"age\", \">\", null]",
               "age");
    bind_fails("[[\"name\", \"<=\", null]]", EO_EINVAL, "operator '<=' cannot compare with null", "name");
    bind_fails("[[\"name\", \"like\", null]]", EO_EINVAL, "operator 'like' cannot compare with null", "name");
}

static void test_domain__bind_operator_type_checks(void **state)
{
    (void)state;
    bind_fails("[[\"active\", \">\", true]]", EO_EINVAL,
               "operator '>' does not apply to Boolean field 'active' (this field cannot be ordered)", "active");
    bind_fails("[[\"data\", \"<\", \"x\"]]", EO_EINVAL, "does not apply to Json field 'data'", "data");
    bind_fails("[[\"parent_id\", \">\", 1]]", EO_EINVAL, "does not apply to Many2one field", "parent_id");
    bind_fails("[[\"name\", \"any\", []]]", EO_EINVAL,
               "operator 'any' does not apply to Char field 'name' ('any' applies to relational fields only)", "name");
    bind_fails("[[\"name\", \"child_of\", 1]]", EO_EINVAL,
               "'child_of' and 'parent_of' apply to id and Many2one fields only", "name");
    bind_fails("[[\"tag_ids\", \"like\", \"x\"]]", EO_EINVAL, "does not apply to Many2many field 'tag_ids'",
               "tag_ids");
    bind_fails("[[\"tag_ids\", \"=like\", \"x\"]]", EO_EINVAL, "does not apply to Many2many", "tag_ids");
    bind_fails("[[\"name.x\", \"=\", 1]]", EO_EINVAL,
               "a dotted path must go through a relational field", "name");
    bind_fails("[[\"name\", \"like\", true]]", EO_EINVAL, "a 'like' pattern must be a string", "name");
}

static void test_domain__bind_value_conversion_errors(void **state)
{
    (void)state;
    bind_fails("[[\"age\", \"=\", \"abc\"]]", EO_EINVAL,
               "res.partner: expected an integer, got text 'abc' in domain leaf [\"age\", \"=\", \"abc\"]", "age");
    bind_fails("[[\"age\", \"in\", [1, \"x\"]]]", EO_EINVAL, "expected an integer, got text 'x'", "age");
    bind_fails("[[\"birthday\", \">\", \"2023-02-29\"]]", EO_EINVAL, "expected a date 'YYYY-MM-DD'", "birthday");
    bind_fails("[[\"parent_id\", \"=\", true]]", EO_EINVAL, "expected a record id", "parent_id");
    bind_fails("[[\"parent_id\", \"=\", 1.5]]", EO_EINVAL, "expected a record id", "parent_id");
    bind_fails("[[\"parent_id\", \"=\", 1e30]]", EO_EINVAL, "expected a record id", "parent_id");
    bind_fails("[[\"id\", \"in\", [1, false]]]", EO_EINVAL, "expected a record id", "id");
}

static void test_domain__bind_twice(void **state)
{
    eo_domain *d = NULL;
    eo_error err;
    const char *j = "[[\"name\", \"=\", \"x\"]]";
    (void)state;
    assert_eo_ok(eo_domain_from_json(&d, j, strlen(j), &err), &err);
    assert_eo_ok(eo_domain_bind(d, P, &err), &err);
    assert_eo_ok(eo_domain_bind(d, P, &err), &err); /* same model: nothing to do */
    assert_eo_error(eo_domain_bind(d, T, &err), &err, EO_EINVAL,
                    "domain is already bound to res.partner, not res.tag");
    assert_ptr_equal(eo_domain_model(d), P);
    eo_domain_free(d);
}

/* ---- normalization ------------------------------------------------ */

static void test_domain__norm_implicit_and(void **state)
{
    (void)state;
    norm_is("[[\"age\", \">\", 18], [\"name\", \"=\", \"Ann\"]]",
            "[\"&\", [\"age\", \">\", 18], [\"name\", \"=\", \"Ann\"]]");
    /* nested ANDs flatten into one n-ary AND */
    norm_is("[\"&\", \"&\", [\"age\", \">\", 1], [\"age\", \"<\", 9], [\"name\", \"=\", \"x\"]]",
            "[\"&\", \"&\", [\"age\", \">\", 1], [\"age\", \"<\", 9], [\"name\", \"=\", \"x\"]]");
    norm_is("[[\"age\", \">\", 1], \"&\", [\"age\", \"<\", 9], [\"name\", \"=\", \"x\"]]",
            "[\"&\", \"&\", [\"age\", \">\", 1], [\"age\", \"<\", 9], [\"name\", \"=\", \"x\"]]");
}

static void test_domain__norm_or_and_not(void **state)
{
    (void)state;
    norm_is("[\"|\", [\"age\", \">\", 18], [\"name\", \"=\", \"Ann\"]]",
            "[\"|\", [\"age\", \">\", 18], [\"name\", \"=\", \"Ann\"]]");
    norm_is("[\"|\", \"|\", [\"age\", \">\", 1], [\"name\", \"=\", \"a\"], [\"email\", \"=\", \"b\"]]",
            "[\"|\", \"|\", [\"age\", \">\", 1], [\"name\", \"=\", \"a\"], [\"email\", \"=\", \"b\"]]");
    /* AND of an OR */
    norm_is("[[\"age\", \">\", 1], \"|\", [\"name\", \"=\", \"a\"], [\"email\", \"=\", \"b\"]]",
            "[\"&\", [\"age\", \">\", 1], \"|\", [\"name\", \"=\", \"a\"], [\"email\", \"=\", \"b\"]]");
    /* De Morgan */
    norm_is("[\"!\", \"&\", [\"age\", \"=\", 1], [\"name\", \"=\", \"x\"]]",
            "[\"|\", [\"age\", \"!=\", 1], [\"name\", \"!=\", \"x\"]]");
    norm_is("[\"!\", \"|\", [\"name\", \"like\", \"a\"], [\"email\", \"=\", null]]",
            "[\"&\", [\"name\", \"not like\", \"a\"], [\"email\", \"!=\", null]]");
    /* double negation */
    norm_is("[\"!\", \"!\", [\"age\", \">\", 5]]", "[[\"age\", \">\", 5]]");
    norm_is("[\"!\", \"!\", \"!\", [\"age\", \"=\", 5]]", "[[\"age\", \"!=\", 5]]");
}

typedef struct neg_case {
    const char *leaf;   /* a leaf on res.partner */
    const char *negated;/* normalized form of ["!", leaf] */
} neg_case;

static void test_domain__norm_negation_every_operator(void **state)
{
    static const neg_case cases[] = {
        { "[\"age\", \"=\", 5]", "[[\"age\", \"!=\", 5]]" },
        { "[\"age\", \"!=\", 5]", "[[\"age\", \"=\", 5]]" },
        { "[\"age\", \"=\", null]", "[[\"age\", \"!=\", null]]" },
        { "[\"age\", \"!=\", null]", "[[\"age\", \"=\", null]]" },
        /* a negation matches NULL: not (a > v) is (a <= v or a is null) */
        { "[\"age\", \">\", 5]", "[\"|\", [\"age\", \"<=\", 5], [\"age\", \"=\", null]]" },
        { "[\"age\", \">=\", 5]", "[\"|\", [\"age\", \"<\", 5], [\"age\", \"=\", null]]" },
        { "[\"age\", \"<\", 5]", "[\"|\", [\"age\", \">=\", 5], [\"age\", \"=\", null]]" },
        { "[\"age\", \"<=\", 5]", "[\"|\", [\"age\", \">\", 5], [\"age\", \"=\", null]]" },
        { "[\"age\", \"in\", [1, 2]]", "[[\"age\", \"not in\", [1, 2]]]" },
        { "[\"age\", \"not in\", [1, 2]]", "[[\"age\", \"in\", [1, 2]]]" },
        { "[\"name\", \"like\", \"a\"]", "[[\"name\", \"not like\", \"a\"]]" },
        { "[\"name\", \"not like\", \"a\"]", "[[\"name\", \"like\", \"a\"]]" },
        { "[\"name\", \"ilike\", \"a\"]", "[[\"name\", \"not ilike\", \"a\"]]" },
        { "[\"name\", \"not ilike\", \"a\"]", "[[\"name\", \"ilike\", \"a\"]]" },
        /* no negated operator: NOT stays */
        { "[\"name\", \"=like\", \"a%\"]", "[\"!\", [\"name\", \"=like\", \"a%\"]]" },
        { "[\"name\", \"=ilike\", \"a%\"]", "[\"!\", [\"name\", \"=ilike\", \"a%\"]]" },
        { "[\"parent_id\", \"child_of\", 3]", "[\"!\", [\"parent_id\", \"child_of\", [3]]]" },
        { "[\"parent_id\", \"parent_of\", 3]", "[\"!\", [\"parent_id\", \"parent_of\", [3]]]" },
        { "[\"parent_id\", \"any\", [[\"name\", \"=\", \"x\"]]]",
          "[[\"parent_id\", \"not any\", [[\"name\", \"=\", \"x\"]]]]" },
        { "[\"parent_id\", \"not any\", [[\"name\", \"=\", \"x\"]]]",
          "[[\"parent_id\", \"any\", [[\"name\", \"=\", \"x\"]]]]" },
        /* dotted paths negate at the relation; the inside stays as written */
        { "[\"parent_id.age\", \">\", 3]", "[[\"parent_id\", \"not any\", [[\"age\", \">\", 3]]]]" },
        /* Boolean = false became in [false, null] */
        { "[\"active\", \"=\", false]", "[[\"active\", \"not in\", [false, null]]]" },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char pos[256], neg[256];
        snprintf(pos, sizeof pos, "[%s]", cases[i].leaf);
        snprintf(neg, sizeof neg, "[\"!\", %s]", cases[i].leaf);
        norm_is(neg, cases[i].negated);
        /* negating twice gives the leaf back */
        snprintf(neg, sizeof neg, "[\"!\", \"!\", %s]", cases[i].leaf);
        {
            char *once = th_norm(P, pos), *twice = th_norm(P, neg);
            if (strcmp(once, twice) != 0) {
                char a[256], b[256];
                snprintf(a, sizeof a, "%s", once);
                snprintf(b, sizeof b, "%s", twice);
                eo_free(once);
                eo_free(twice);
                fail_msg("double negation of %s: %s != %s", cases[i].leaf, b, a);
            }
            eo_free(once);
            eo_free(twice);
        }
    }
}

static void test_domain__norm_duplicates_removed(void **state)
{
    (void)state;
    norm_is("[[\"age\", \">\", 1], [\"age\", \">\", 1]]", "[[\"age\", \">\", 1]]");
    norm_is("[[\"name\", \"=\", \"x\"], [\"name\", \"=\", \"x\"]]", "[[\"name\", \"=\", \"x\"]]");
    norm_is("[\"|\", [\"name\", \"like\", \"a\"], [\"name\", \"like\", \"a\"]]", "[[\"name\", \"like\", \"a\"]]");
    norm_is("[[\"age\", \">\", 1], [\"score\", \"<\", 2], [\"age\", \">\", 1]]",
            "[\"&\", [\"age\", \">\", 1], [\"score\", \"<\", 2]]");
    /* duplicate values inside a list */
    norm_is("[[\"age\", \"in\", [1, 2, 1, 2]]]", "[[\"age\", \"in\", [1, 2]]]");
    /* a leaf that differs only in the value is not a duplicate */
    norm_is("[[\"age\", \">\", 1], [\"age\", \">\", 2]]", "[\"&\", [\"age\", \">\", 1], [\"age\", \">\", 2]]");
}

static void test_domain__norm_in_of_one(void **state)
{
    (void)state;
    norm_is("[[\"age\", \"in\", [5]]]", "[[\"age\", \"=\", 5]]");
    norm_is("[[\"age\", \"in\", [5, 5]]]", "[[\"age\", \"=\", 5]]");
    norm_is("[[\"age\", \"not in\", [5]]]", "[[\"age\", \"!=\", 5]]");
    norm_is("[[\"name\", \"in\", [null]]]", "[[\"name\", \"=\", null]]");
}

static void test_domain__norm_contradiction_folds_to_false(void **state)
{
    const char *cases[] = {
        "[[\"age\", \"=\", 1], [\"age\", \"=\", 2]]",
        "[[\"age\", \"in\", [1, 2]], [\"age\", \"in\", [3, 4]]]",
        "[[\"age\", \"=\", 1], [\"age\", \"!=\", 1]]",
        "[[\"age\", \"!=\", 1], [\"age\", \"=\", 1]]",
        "[[\"age\", \"in\", [1, 2]], [\"age\", \"not in\", [1, 2]]]",
        "[[\"name\", \"=\", \"x\"], [\"age\", \"=\", 1], [\"age\", \"=\", 2]]",
        "[[\"age\", \"in\", []]]",
        "[[\"name\", \"=\", \"x\"], [\"age\", \"in\", []]]",
        "[\"!\", [\"age\", \"not in\", []]]",
        "[[\"parent_id\", \"any\", [[\"age\", \"in\", []]]]]",
        "[[\"parent_id\", \"any\", [[\"age\", \"=\", 1], [\"age\", \"=\", 2]]]]",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eo_domain *d = NULL;
        eo_error err;
        char *s;
        assert_eo_ok(eo_domain_from_json(&d, cases[i], strlen(cases[i]), &err), &err);
        assert_eo_ok(eo_domain_bind(d, P, &err), &err);
        if (!eo_domain_is_false(d)) {
            s = unbound_str(d);
            fail_msg("%s did not fold to FALSE: %s", cases[i], s);
        }
        assert_false(eo_domain_is_true(d));
        s = unbound_str(d);
        assert_string_equal(s, "[[\"id\", \"=\", null]]");
        eo_free(s);
        eo_domain_free(d);
    }
}

static void test_domain__norm_intersections(void **state)
{
    (void)state;
    norm_is("[[\"age\", \"in\", [1, 2]], [\"age\", \"in\", [2, 3]]]", "[[\"age\", \"=\", 2]]");
    norm_is("[[\"age\", \"in\", [1, 2, 3]], [\"age\", \"!=\", 2]]", "[[\"age\", \"in\", [1, 3]]]");
    norm_is("[[\"age\", \"!=\", 1], [\"age\", \"in\", [1, 2]]]", "[[\"age\", \"=\", 2]]");
    norm_is("[[\"age\", \"=\", 1], [\"age\", \"in\", [1, 2]]]", "[[\"age\", \"=\", 1]]");
    /* other fields are left alone */
    norm_is("[[\"age\", \"in\", [1, 2]], [\"name\", \"=\", \"x\"], [\"age\", \"in\", [2, 3]]]",
            "[\"&\", [\"age\", \"=\", 2], [\"name\", \"=\", \"x\"]]");
}

static void test_domain__norm_in_empty(void **state)
{
    eo_domain *d = NULL;
    eo_error err;
    const char *j = "[[\"age\", \"not in\", []]]";
    (void)state;
    norm_is("[[\"age\", \"not in\", []]]", "[]");
    assert_eo_ok(eo_domain_from_json(&d, j, strlen(j), &err), &err);
    assert_eo_ok(eo_domain_bind(d, P, &err), &err);
    assert_true(eo_domain_is_true(d));
    assert_false(eo_domain_is_false(d));
    eo_domain_free(d);
    /* constants absorb or vanish */
    norm_is("[\"|\", [\"age\", \"in\", []], [\"age\", \"=\", 1]]", "[[\"age\", \"=\", 1]]");
    norm_is("[\"|\", [\"age\", \"not in\", []], [\"age\", \"=\", 1]]", "[]");
    norm_is("[[\"age\", \"not in\", []], [\"age\", \"=\", 1]]", "[[\"age\", \"=\", 1]]");
    norm_is("[\"!\", [\"age\", \"in\", []]]", "[]");
}

static void test_domain__norm_or_merged_into_in(void **state)
{
    (void)state;
    norm_is("[\"|\", [\"age\", \"=\", 1], [\"age\", \"=\", 2]]", "[[\"age\", \"in\", [1, 2]]]");
    norm_is("[\"|\", \"|\", [\"age\", \"=\", 1], [\"age\", \"=\", 2], [\"age\", \"=\", 3]]",
            "[[\"age\", \"in\", [1, 2, 3]]]");
    norm_is("[\"|\", [\"age\", \"in\", [1, 2]], [\"age\", \"=\", 2]]", "[[\"age\", \"in\", [1, 2]]]");
    norm_is("[\"|\", [\"age\", \"=\", 1], [\"age\", \"=\", null]]", "[[\"age\", \"in\", [1, null]]]");
    norm_is("[\"|\", \"|\", [\"age\", \"=\", 1], [\"name\", \"=\", \"x\"], [\"age\", \"=\", 2]]",
            "[\"|\", [\"age\", \"in\", [1, 2]], [\"name\", \"=\", \"x\"]]");
    /* different fields are not merged */
    norm_is("[\"|\", [\"age\", \"=\", 1], [\"score\", \"=\", 1]]",
            "[\"|\", [\"age\", \"=\", 1], [\"score\", \"=\", 1]]");
}

static void test_domain__norm_boolean_false_matches_null(void **state)
{
    (void)state;
    norm_is("[[\"active\", \"=\", false]]", "[[\"active\", \"in\", [false, null]]]");
    norm_is("[[\"active\", \"=\", 0]]", "[[\"active\", \"in\", [false, null]]]");
    norm_is("[[\"active\", \"=\", true]]", "[[\"active\", \"=\", true]]");
    norm_is("[[\"active\", \"=\", 1]]", "[[\"active\", \"=\", true]]");
    norm_is("[[\"active\", \"!=\", true]]", "[[\"active\", \"!=\", true]]");
    /* in AND with = true it can never hold */
    norm_is("[[\"active\", \"=\", false], [\"active\", \"=\", true]]", "[[\"id\", \"=\", null]]");
}

static void test_domain__norm_dotted_paths(void **state)
{
    (void)state;
    norm_is("[[\"parent_id.name\", \"=\", \"x\"]]", "[[\"parent_id\", \"any\", [[\"name\", \"=\", \"x\"]]]]");
    norm_is("[[\"parent_id.parent_id.age\", \">\", 3]]",
            "[[\"parent_id\", \"any\", [[\"parent_id\", \"any\", [[\"age\", \">\", 3]]]]]]");
    /* the value is converted for the field at the end of the path */
    norm_is("[[\"parent_id.age\", \"=\", \"7\"]]", "[[\"parent_id\", \"any\", [[\"age\", \"=\", 7]]]]");
    norm_is("[[\"tag_ids.name\", \"=\", \"vip\"]]", "[[\"tag_ids\", \"any\", [[\"name\", \"=\", \"vip\"]]]]");
    norm_is("[[\"child_ids.age\", \"<\", 10]]", "[[\"child_ids\", \"any\", [[\"age\", \"<\", 10]]]]");
}

static void test_domain__norm_many2one_like_searches_name(void **state)
{
    (void)state;
    norm_is("[[\"parent_id\", \"ilike\", \"ann\"]]", "[[\"parent_id\", \"any\", [[\"name\", \"ilike\", \"ann\"]]]]");
    norm_is("[[\"parent_id\", \"not like\", \"ann\"]]",
            "[[\"parent_id\", \"any\", [[\"name\", \"not like\", \"ann\"]]]]");
}

static void test_domain__norm_any_constants(void **state)
{
    (void)state;
    /* any [] on a Many2one is "is set", not any [] "is not set" */
    norm_is("[[\"parent_id\", \"any\", []]]", "[[\"parent_id\", \"!=\", null]]");
    norm_is("[[\"parent_id\", \"not any\", []]]", "[[\"parent_id\", \"=\", null]]");
    norm_is("[[\"parent_id\", \"not any\", [[\"age\", \"in\", []]]]]", "[]");
}

static void test_domain__norm_x2many(void **state)
{
    (void)state;
    norm_is("[[\"tag_ids\", \"=\", 5]]", "[[\"tag_ids\", \"any\", [[\"id\", \"=\", 5]]]]");
    norm_is("[[\"tag_ids\", \"in\", [5, 6]]]", "[[\"tag_ids\", \"any\", [[\"id\", \"in\", [5, 6]]]]]");
    norm_is("[[\"tag_ids\", \"!=\", 5]]", "[[\"tag_ids\", \"not any\", [[\"id\", \"=\", 5]]]]");
    norm_is("[[\"tag_ids\", \"=\", null]]", "[[\"tag_ids\", \"not any\", []]]");
    norm_is("[[\"tag_ids\", \"!=\", null]]", "[[\"tag_ids\", \"any\", []]]");
    norm_is("[[\"child_ids\", \"=\", 3]]", "[[\"child_ids\", \"any\", [[\"id\", \"=\", 3]]]]");
    bind_fails("[[\"tag_ids\", \">\", 5]]", EO_EINVAL, "does not apply to Many2many", "tag_ids");
}

static void test_domain__norm_values_converted(void **state)
{
    (void)state;
    norm_is("[[\"age\", \"=\", \"42\"]]", "[[\"age\", \"=\", 42]]");
    norm_is("[[\"age\", \"=\", 42.0]]", "[[\"age\", \"=\", 42]]");
    norm_is("[[\"score\", \">\", 2]]", "[[\"score\", \">\", 2]]");
    norm_is("[[\"seen_at\", \">\", \"2024-01-01T10:00:00+02:00\"]]",
            "[[\"seen_at\", \">\", \"2024-01-01 08:00:00\"]]");
    norm_is("[[\"price\", \"=\", 10.5]]", "[[\"price\", \"=\", \"10.50\"]]");
    /* filters may ask for values no record may hold: no range/choice/size checks */
    norm_is("[[\"age\", \"=\", 500]]", "[[\"age\", \"=\", 500]]");
    norm_is("[[\"kind\", \"=\", \"alien\"]]", "[[\"kind\", \"=\", \"alien\"]]");
    norm_is("[[\"age\", \"in\", [\"1\", 2]]]", "[[\"age\", \"in\", [1, 2]]]");
    /* like patterns are text whatever the value */
    norm_is("[[\"name\", \"like\", 5]]", "[[\"name\", \"like\", \"5\"]]");
    /* ids stay ints or ObjectId text */
    norm_is("[[\"id\", \"in\", [1, 2.0]]]", "[[\"id\", \"in\", [1, 2]]]");
}

static void test_domain__norm_string_parses_back(void **state)
{
    const char *cases[] = {
        "[[\"age\", \">\", 18], \"|\", [\"kind\", \"=\", \"company\"], [\"email\", \"=\", null]]",
        "[\"!\", \"&\", [\"age\", \">\", 1], [\"name\", \"=like\", \"a%\"]]",
        "[[\"parent_id.name\", \"ilike\", \"x\\\"y\"], [\"active\", \"=\", false]]",
        "[\"|\", [\"age\", \"=\", 1], [\"age\", \"=\", 2]]",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *once = th_norm(P, cases[i]);
        char *twice = th_norm(P, once);
        assert_string_equal(twice, once);
        eo_free(once);
        eo_free(twice);
    }
}

static void test_domain__to_string_escapes(void **state)
{
    eo_dbuilder *b = NULL;
    eo_domain *d = NULL;
    eo_error err;
    eo_value v = eo_text("a\"b\\c\nd", 7), bl = eo_blob("xyz", 3);
    char *s;
    (void)state;
    assert_eo_ok(eo_dbuilder_new(&b, &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(b, "name", "=", &v, &err), &err);
    assert_eo_ok(eo_dbuilder_leaf(b, "blob", "=", &bl, &err), &err);
    assert_eo_ok(eo_dbuilder_finish(&d, b, &err), &err);
    s = unbound_str(d);
    assert_string_equal(s, "[\"&\", [\"name\", \"=\", \"a\\\"b\\\\c\\u000ad\"], [\"blob\", \"=\", <3 bytes>]]");
    eo_free(s);
    eo_domain_free(d);
}

/* ---- size and depth ----------------------------------------------- */

/*
 * Prefix JSON of n leaves joined by op: "ops first" writes the n-1
 * operators up front (["|", "|", ..., a, b, c]), otherwise each operator
 * precedes its leaf (["|", a, "|", b, c]); both are chains of one operator.
 * Element i is printed with fmt and i: a leaf, or a prefix term of several
 * elements ("&", [..], [..]).
 */
static char *chain(const char *op, int n, int ops_first, const char *fmt)
{
    eo_buf b = EO_BUF_INIT;
    int i;
    eo_buf__putc(&b, '[');
    if (ops_first)
        for (i = 1; i < n; i++)
            eo_buf__printf(&b, "\"%s\", ", op);
    for (i = 0; i < n; i++) {
        if (!ops_first && i + 1 < n)
            eo_buf__printf(&b, "\"%s\", ", op);
        eo_buf__printf(&b, fmt, i);
        eo_buf__puts(&b, i + 1 < n ? ", " : "]");
    }
    assert_false(b.oom);
    return eo_buf__detach(&b);
}

static eo_domain *bound_ok(const char *json)
{
    eo_domain *d = NULL;
    eo_error err;
    assert_eo_ok(eo_domain_from_json(&d, json, strlen(json), &err), &err);
    assert_eo_ok(eo_domain_bind(d, P, &err), &err);
    return d;
}

static void test_domain__long_chains_are_flat(void **state)
{
    const eo_dnode *r;
    eo_domain *d;
    char *j;
    size_t i;
    (void)state;
    /* 100,000 leaves under '|' (40,000 used to crash the process) */
    j = chain("|", 100000, 1, "[\"age\", \"=\", %d]");
    d = bound_ok(j);
    r = eo_domain_root(d);
    assert_int_equal(r->kind, EO_D_LEAF);
    assert_int_equal(r->op, EO_OP_IN);
    assert_int_equal(r->nlist, 100000);
    for (i = 0; i < r->nlist; i++)
        assert_int_equal(r->list[i].u.i, (int64_t)i);
    eo_domain_free(d);
    free(j);
    /* ...and written with the operator before each leaf */
    j = chain("|", 100000, 0, "[\"age\", \"=\", %d]");
    d = bound_ok(j);
    assert_int_equal(eo_domain_root(d)->nlist, 100000);
    eo_domain_free(d);
    free(j);
    /* '&' of ranges: one n-ary AND, nothing merges */
    j = chain("&", 100000, 1, "[\"age\", \">\", %d]");
    d = bound_ok(j);
    r = eo_domain_root(d);
    assert_int_equal(r->kind, EO_D_AND);
    assert_int_equal(r->nkids, 100000);
    assert_int_equal(r->kids[99999]->value.u.i, 99999);
    eo_domain_free(d);
    free(j);
    /* an OR of ANDs: each pair stays an AND under one OR */
    j = chain("|", 50000, 1, "\"&\", [\"age\", \"=\", %d], [\"name\", \"ilike\", \"x\"]");
    d = bound_ok(j);
    r = eo_domain_root(d);
    assert_int_equal(r->kind, EO_D_OR);
    assert_int_equal(r->nkids, 50000);
    assert_int_equal(r->kids[7]->kind, EO_D_AND);
    eo_domain_free(d);
    free(j);
}

static void test_domain__long_not_chains_cancel(void **state)
{
    eo_buf b = EO_BUF_INIT;
    char *got;
    int i;
    (void)state;
    for (i = 0; i < 100001; i++)
        eo_buf__puts(&b, i ? ", \"!\"" : "[\"!\"");
    eo_buf__puts(&b, ", [\"age\", \"=\", 5]]");
    got = th_norm(P, b.p);
    assert_string_equal(got, "[[\"age\", \"!=\", 5]]");
    eo_free(got);
    eo_buf__free(&b);
}

/* ["&", L, "|", L, "&", L, ..., L, L]: operators that alternate nest. */
static char *alternating(int nops, const char *last)
{
    eo_buf b = EO_BUF_INIT;
    int i;
    eo_buf__putc(&b, '[');
    for (i = 0; i < nops; i++)
        eo_buf__printf(&b, "\"%c\", [\"age\", \"=\", %d], ", i % 2 ? '|' : '&', i);
    eo_buf__printf(&b, "%s]", last);
    return eo_buf__detach(&b);
}

static void test_domain__depth_limit(void **state)
{
    eo_domain *d = (eo_domain *)1;
    eo_error err;
    char *ok = alternating(EO_DOMAIN_MAX_DEPTH - 1, "[\"age\", \"=\", -1]");
    char *deep = alternating(EO_DOMAIN_MAX_DEPTH, "[\"age\", \"=\", -1]");
    char path[1024];
    size_t o = 0;
    int i;
    (void)state;
    d = bound_ok(ok);
    eo_domain_free(d);
    d = (eo_domain *)1;
    assert_eo_error(eo_domain_from_json(&d, deep, strlen(deep), &err), &err, EO_ELIMIT,
                    "domain nests more than 64 levels deep (operators that alternate, 'any' "
                    "sub-domains and dotted paths count; chains of one operator do not): simplify it");
    assert_null(d);
    free(ok);
    free(deep);
    /* a dotted path counts a level per dot */
    o += (size_t)snprintf(path + o, sizeof path - o, "[[\"");
    for (i = 0; i < EO_DOMAIN_MAX_DEPTH; i++)
        o += (size_t)snprintf(path + o, sizeof path - o, "parent_id.");
    snprintf(path + o, sizeof path - o, "name\", \"=\", \"x\"]]");
    assert_eo_error(eo_domain_from_json(&d, path, strlen(path), &err), &err, EO_ELIMIT,
                    "domain nests more than 64 levels deep");
    /* a long path within the limit binds */
    d = bound_ok("[[\"parent_id.parent_id.parent_id.parent_id.parent_id.name\", \"=\", \"x\"]]");
    eo_domain_free(d);
}

/* Everything a search does with a domain, on a 256 KiB thread stack. */
typedef struct small_stack_job {
    const char *const *json;
    size_t n;
    int failed;
    char why[600];
} small_stack_job;

static void *small_stack_run(void *arg)
{
    small_stack_job *job = arg;
    size_t i;
    for (i = 0; i < job->n && !job->failed; i++) {
        eo_domain *d = NULL;
        eo_error err;
        char *text = NULL;
        eo_sqlq q;
        int rc = eo_domain_from_json(&d, job->json[i], strlen(job->json[i]), &err);
        if (rc == EO_OK)
            rc = eo_domain_bind(d, P, &err);
        if (rc == EO_OK)
            rc = eo_domain_to_string(&text, d, &err);
        eo_free(text);
        if (rc == EO_OK) {
            eo_sqlq__init(&q, &eo_sql__sqlite);
            rc = eo_sql__where(&q, P, eo_domain_root(d), &err);
            eo_sqlq__free(&q);
        }
        if (rc == EO_OK) {
            eo_sqlq__init(&q, &eo_sql__postgres);
            rc = eo_sql__where(&q, P, eo_domain_root(d), &err);
            eo_sqlq__free(&q);
        }
        if (rc != EO_OK && rc != EO_ELIMIT) {
            job->failed = 1;
            snprintf(job->why, sizeof job->why, "domain %zu: %s", i, err.msg);
        }
        eo_domain_free(d);
    }
    return NULL;
}

static void test_domain__any_shape_on_a_small_stack(void **state)
{
    char *json[8];
    small_stack_job job;
    pthread_attr_t attr;
    pthread_t th;
    size_t i;
    char deepest[4096];
    (void)state;
    json[0] = chain("|", 100000, 1, "[\"age\", \"=\", %d]");
    json[1] = chain("&", 100000, 0, "[\"name\", \"!=\", \"n%d\"]");
    json[2] = chain("|", 100000, 1, "\"!\", [\"age\", \">\", %d]");
    json[3] = chain("|", 20000, 1, "[\"parent_id.parent_id.name\", \"ilike\", \"x%d\"]");
    /* the deepest domain allowed: alternating operators down to dotted paths */
    snprintf(deepest, sizeof deepest, "\"!\", [\"parent_id\", \"any\", [[\"tag_ids.name\", \"=\", \"x\"], "
             "[\"child_ids.parent_id.age\", \">\", 3]]]");
    json[4] = alternating(EO_DOMAIN_MAX_DEPTH - 6, deepest);
    json[5] = alternating(EO_DOMAIN_MAX_DEPTH + 1000, "[\"age\", \"=\", 1]"); /* refused */
    json[6] = nested_any(32);
    json[7] = chain("&", 3000, 1, "\"|\", [\"age\", \"<\", %d], \"!\", [\"name\", \"=like\", \"a%%\"]");
    job.json = (const char *const *)json;
    job.n = 8;
    job.failed = 0;
    job.why[0] = '\0';
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
    assert_int_equal(pthread_create(&th, &attr, small_stack_run, &job), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    pthread_attr_destroy(&attr);
    for (i = 0; i < 8; i++)
        free(json[i]);
    if (job.failed)
        fail_msg("%s", job.why);
}

static void test_domain__norm_sets_of_one_field(void **state)
{
    (void)state;
    /* AND: refusals unite */
    norm_is("[[\"age\", \"!=\", 1], [\"age\", \"!=\", 2], [\"age\", \"not in\", [2, 3]]]",
            "[[\"age\", \"not in\", [1, 2, 3]]]");
    /* OR: refusals intersect, allowances take their values back */
    norm_is("[\"|\", [\"age\", \"!=\", 1], [\"age\", \"!=\", 2]]", "[]");
    norm_is("[\"|\", [\"age\", \"not in\", [1, 2, 3]], [\"age\", \"not in\", [2, 3, 4]]]",
            "[[\"age\", \"not in\", [2, 3]]]");
    norm_is("[\"|\", [\"age\", \"not in\", [1, 2, 3]], [\"age\", \"in\", [2]]]",
            "[[\"age\", \"not in\", [1, 3]]]");
    norm_is("[\"|\", [\"age\", \"=\", 2], [\"age\", \"!=\", 2]]", "[]");
    /* NULL is one of the values */
    norm_is("[\"|\", [\"age\", \"=\", null], [\"age\", \"not in\", [null, 4]]]",
            "[[\"age\", \"!=\", 4]]");
    norm_is("[[\"age\", \"in\", [1, null]], [\"age\", \"!=\", null]]", "[[\"age\", \"=\", 1]]");
    /* a group merged away leaves the other fields where they were */
    norm_is("[[\"name\", \"=\", \"a\"], [\"age\", \"!=\", 1], [\"kind\", \"=\", \"company\"], [\"age\", \"!=\", 2]]",
            "[\"&\", \"&\", [\"name\", \"=\", \"a\"], [\"age\", \"not in\", [1, 2]], [\"kind\", \"=\", \"company\"]]");
}

static void test_domain__norm_any_leaves_merge(void **state)
{
    (void)state;
    /* OR of any on one relation: one sub-domain */
    norm_is("[\"|\", [\"parent_id.name\", \"=\", \"a\"], [\"parent_id.name\", \"=\", \"b\"]]",
            "[[\"parent_id\", \"any\", [[\"name\", \"in\", [\"a\", \"b\"]]]]]");
    norm_is("[\"|\", [\"tag_ids\", \"=\", 5], [\"tag_ids\", \"=\", 6]]",
            "[[\"tag_ids\", \"any\", [[\"id\", \"in\", [5, 6]]]]]");
    /* AND: a Many2one has one target, so its conditions meet there... */
    norm_is("[[\"parent_id.name\", \"=\", \"a\"], [\"parent_id.age\", \">\", 3]]",
            "[[\"parent_id\", \"any\", [\"&\", [\"name\", \"=\", \"a\"], [\"age\", \">\", 3]]]]");
    /* ...an x2many has many: two tags named differently is not one tag */
    norm_is("[[\"tag_ids.name\", \"=\", \"a\"], [\"tag_ids.name\", \"=\", \"b\"]]",
            "[\"&\", [\"tag_ids\", \"any\", [[\"name\", \"=\", \"a\"]]], [\"tag_ids\", \"any\", [[\"name\", \"=\", \"b\"]]]]");
    /* not any under AND unites */
    norm_is("[[\"tag_ids\", \"!=\", 5], [\"tag_ids\", \"!=\", 6]]",
            "[[\"tag_ids\", \"not any\", [[\"id\", \"in\", [5, 6]]]]]");
    /* merged sub-domains that contradict fold */
    norm_is("[[\"parent_id.age\", \"=\", 1], [\"parent_id.age\", \"=\", 2]]", "[[\"id\", \"=\", null]]");
}

static void test_domain__nul_bytes_refused(void **state)
{
    (void)state;
    /* JSON text cannot carry a NUL (the strict reader refuses \u0000) */
    parse_fails("[[\"name\\u0000junk\", \"=\", \"x\"]]", EO_EINVAL,
                "domain: invalid JSON: \\u0000 in a string");
    parse_fails("[[\"name\", \"like\", \"a\\u0000b\"]]", EO_EINVAL, "\\u0000 in a string");
    {
        /* a pattern with a NUL, built in C */
        eo_dbuilder *bd = NULL;
        eo_domain *d = NULL;
        eo_error err;
        eo_value nul = eo_text("a\0b", 3);
        assert_eo_ok(eo_dbuilder_new(&bd, &err), &err);
        assert_eo_ok(eo_dbuilder_leaf(bd, "name", "=ilike", &nul, &err), &err);
        assert_eo_ok(eo_dbuilder_finish(&d, bd, &err), &err);
        assert_eo_error(eo_domain_bind(d, P, &err), &err, EO_EINVAL,
                        "a 'like' pattern cannot hold a NUL byte");
        eo_domain_free(d);
    }
    {
        /* JSON cannot carry invalid UTF-8: build the leaf in C */
        eo_dbuilder *bd = NULL;
        eo_domain *d = NULL;
        eo_error err;
        eo_value bad = eo_text("a\xff\xfe", 3);
        assert_eo_ok(eo_dbuilder_new(&bd, &err), &err);
        assert_eo_ok(eo_dbuilder_leaf(bd, "name", "not like", &bad, &err), &err);
        assert_eo_ok(eo_dbuilder_finish(&d, bd, &err), &err);
        assert_eo_error(eo_domain_bind(d, P, &err), &err, EO_EINVAL,
                        "a 'like' pattern must be valid UTF-8");
        assert_string_equal(err.field, "name");
        eo_domain_free(d);
    }
}

static void test_domain__non_stored_computed_refused(void **state)
{
    eo_domain *d;
    (void)state;
    bind_fails("[[\"dbl\", \">\", 100]]", EO_EINVAL,
               "res.partner: the field is computed and not stored, so no query can search it "
               "(declare it with store = true, or give it a search method) in domain leaf [\"dbl\", \">\", 100]",
               "dbl");
    bind_fails("[\"|\", [\"age\", \"=\", 1], [\"parent_id.dbl\", \"=\", 2]]", EO_EINVAL,
               "computed and not stored", "dbl");
    d = bound_ok("[[\"total\", \">\", 100]]");
    eo_domain_free(d);
}

static void test_domain__like_escape(void **state)
{
    char *out = NULL;
    size_t n = 99;
    eo_error err;
    (void)state;
    assert_eo_ok(eo_like_escape(&out, &n, "50%_a\\b", 7, &err), &err);
    assert_string_equal(out, "50\\%\\_a\\\\b");
    assert_int_equal(n, 10);
    assert_int_equal(err.code, EO_OK);
    eo_free(out);
    assert_eo_ok(eo_like_escape(&out, NULL, "", 0, &err), &err);
    assert_string_equal(out, "");
    eo_free(out);
    assert_eo_error(eo_like_escape(NULL, NULL, "x", 1, &err), &err, EO_EINVAL, "out is NULL");
    assert_eo_error(eo_like_escape(&out, NULL, NULL, 3, &err), &err, EO_EINVAL,
                    "eo_like_escape: s is NULL");
    assert_null(out);
}

/* Normalization polls the calling VM's deadline (the count hook cannot
 * interrupt C): past it, binding stops with EO_ETIMEOUT. */
static void test_domain__bind_stops_at_the_deadline(void **state)
{
    char *j = chain("|", 200000, 1, "[\"age\", \">\", %d]");
    eo_domain *d = NULL;
    eo_error err;
    uint64_t prev;
    (void)state;
    assert_eo_ok(eo_domain_from_json(&d, j, strlen(j), &err), &err);
    prev = eo_deadline__set(eo_clock__ns() - 1); /* already passed */
    assert_eo_error(eo_domain_bind(d, P, &err), &err, EO_ETIMEOUT,
                    "domain normalization ran past the call's time limit and was stopped");
    assert_null(eo_domain_model(d));
    eo_deadline__set(prev);
    eo_domain_free(d);
    /* no deadline: the same domain binds */
    assert_eo_ok(eo_domain_from_json(&d, j, strlen(j), &err), &err);
    assert_eo_ok(eo_domain_bind(d, P, &err), &err);
    assert_int_equal(eo_domain_root(d)->nkids, 200000);
    eo_domain_free(d);
    free(j);
}

/* `=?` (Odoo's): TRUE for null and false, `=` otherwise; the path is
 * checked either way. */
static void test_domain__eq_opt(void **state)
{
    (void)state;
    norm_is("[[\"age\", \"=?\", null]]", "[]");
    norm_is("[[\"age\", \"=?\", false]]", "[]");
    norm_is("[[\"age\", \"=?\", 3]]", "[[\"age\", \"=\", 3]]");
    norm_is("[[\"age\", \"=?\", null], [\"name\", \"=\", \"x\"]]", "[[\"name\", \"=\", \"x\"]]");
    norm_is("[\"!\", [\"age\", \"=?\", null]]", "[[\"id\", \"=\", null]]"); /* FALSE */
    norm_is("[[\"parent_id.age\", \"=?\", \"7\"]]", "[[\"parent_id\", \"any\", [[\"age\", \"=\", 7]]]]");
    norm_is("[[\"parent_id.age\", \"=?\", null]]", "[]");
    bind_fails("[[\"agee\", \"=?\", null]]", EO_EINVAL, "res.partner: no field 'agee' in domain leaf", NULL);
    bind_fails("[[\"parent_id.nope\", \"=?\", null]]", EO_EINVAL,
               "no field 'nope' on res.partner in domain leaf", NULL);
    bind_fails("[[\"age.x\", \"=?\", null]]", EO_EINVAL, "a dotted path must go through a relational field",
               "age");
    bind_fails("[[\"age\", \"=?\", \"x\"]]", EO_EINVAL, "age", "age");
    parse_fails("[[\"age\", \"=?\", [1, 2]]]", EO_EINVAL, "operator '=?' takes one value, not a list");
}

/* The normalized form of `json` on res.partner with active_test on. */
static void active_is(const char *json, const char *want)
{
    eo_domain *d = NULL;
    eo_error err;
    char *got = NULL;
    assert_eo_ok(eo_domain_from_json(&d, json, strlen(json), &err), &err);
    assert_eo_ok(eo_domain_set_active_test(d, 1, &err), &err);
    assert_eo_ok(eo_domain_bind(d, P, &err), &err);
    assert_eo_ok(eo_domain_to_string(&got, d, &err), &err);
    eo_domain_free(d);
    if (strcmp(got, want) != 0) {
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", got);
        eo_free(got);
        fail_msg("%s\n  normalized to %s\n  expected     %s", json, copy, want);
    }
    eo_free(got);
}

/* active_test: `active = true` where the domain does not name the flag,
 * at the top and in x2many sub-domains, never through a Many2one. */
static void test_domain__active_test(void **state)
{
    eo_error err;
    (void)state;
    active_is("[]", "[[\"active\", \"=\", true]]");
    active_is("[[\"age\", \">\", 3]]", "[\"&\", [\"age\", \">\", 3], [\"active\", \"=\", true]]");
    active_is("[[\"active\", \"=\", false]]", "[[\"active\", \"in\", [false, null]]]");
    active_is("[\"|\", [\"active\", \"=\", false], [\"age\", \"=\", 1]]",
              "[\"|\", [\"active\", \"in\", [false, null]], [\"age\", \"=\", 1]]");
    active_is("[[\"active\", \"=?\", null]]", "[]");
    /* x2many sub-domains (res.partner's child_ids) get the flag too... */
    active_is("[[\"child_ids.age\", \"<\", 10]]",
              "[\"&\", [\"child_ids\", \"any\", [\"&\", [\"age\", \"<\", 10], "
              "[\"active\", \"=\", true]]], [\"active\", \"=\", true]]");
    active_is("[[\"child_ids\", \"not any\", [[\"active\", \"=\", true]]]]",
              "[\"&\", [\"child_ids\", \"not any\", [[\"active\", \"=\", true]]], "
              "[\"active\", \"=\", true]]");
    /* ...but not a Many2one's, the id forms, nor a comodel without the flag */
    active_is("[[\"parent_id.age\", \"=\", 1]]",
              "[\"&\", [\"parent_id\", \"any\", [[\"age\", \"=\", 1]]], [\"active\", \"=\", true]]");
    active_is("[[\"child_ids\", \"=\", 5]]",
              "[\"&\", [\"child_ids\", \"any\", [[\"id\", \"=\", 5]]], [\"active\", \"=\", true]]");
    active_is("[[\"tag_ids.name\", \"=\", \"vip\"]]",
              "[\"&\", [\"tag_ids\", \"any\", [[\"name\", \"=\", \"vip\"]]], "
              "[\"active\", \"=\", true]]");
    /* off by default; NULL refused */
    norm_is("[[\"age\", \">\", 3]]", "[[\"age\", \">\", 3]]");
    assert_eo_error(eo_domain_set_active_test(NULL, 1, &err), &err, EO_EINVAL, "d is NULL");
    assert_null(eo_model_active_field(NULL));
    assert_null(eo_model_active_field(T));
    assert_string_equal(eo_model_active_field(P)->name, "active");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain__dop_parse_and_name),
        cmocka_unit_test(test_domain__builder_implicit_and),
        cmocka_unit_test(test_domain__builder_prefix_operators),
        cmocka_unit_test(test_domain__builder_copies_input),
        cmocka_unit_test(test_domain__builder_scalar_in_is_list),
        cmocka_unit_test(test_domain__builder_sub_domain),
        cmocka_unit_test(test_domain__builder_errors),
        cmocka_unit_test(test_domain__builder_unbalanced),
        cmocka_unit_test(test_domain__empty_and_true),
        cmocka_unit_test(test_domain__json_values),
        cmocka_unit_test(test_domain__json_empty),
        cmocka_unit_test(test_domain__json_object_value_is_data),
        cmocka_unit_test(test_domain__json_leaf_arity),
        cmocka_unit_test(test_domain__json_non_string_field_or_operator),
        cmocka_unit_test(test_domain__json_unknown_operator),
        cmocka_unit_test(test_domain__json_bad_elements),
        cmocka_unit_test(test_domain__json_is_literal),
        cmocka_unit_test(test_domain__json_unbalanced),
        cmocka_unit_test(test_domain__json_invalid_text),
        cmocka_unit_test(test_domain__json_not_an_array),
        cmocka_unit_test(test_domain__json_nested_any_depth),
        cmocka_unit_test(test_domain__bind_unknown_field),
        cmocka_unit_test(test_domain__bind_like_on_integer),
        cmocka_unit_test(test_domain__bind_order_with_null),
        cmocka_unit_test(test_domain__bind_operator_type_checks),
        cmocka_unit_test(test_domain__bind_value_conversion_errors),
        cmocka_unit_test(test_domain__bind_twice),
        cmocka_unit_test(test_domain__norm_implicit_and),
        cmocka_unit_test(test_domain__norm_or_and_not),
        cmocka_unit_test(test_domain__norm_negation_every_operator),
        cmocka_unit_test(test_domain__norm_duplicates_removed),
        cmocka_unit_test(test_domain__norm_in_of_one),
        cmocka_unit_test(test_domain__norm_contradiction_folds_to_false),
        cmocka_unit_test(test_domain__norm_intersections),
        cmocka_unit_test(test_domain__norm_in_empty),
        cmocka_unit_test(test_domain__norm_or_merged_into_in),
        cmocka_unit_test(test_domain__norm_boolean_false_matches_null),
        cmocka_unit_test(test_domain__norm_dotted_paths),
        cmocka_unit_test(test_domain__norm_many2one_like_searches_name),
        cmocka_unit_test(test_domain__norm_any_constants),
        cmocka_unit_test(test_domain__norm_x2many),
        cmocka_unit_test(test_domain__norm_values_converted),
        cmocka_unit_test(test_domain__norm_string_parses_back),
        cmocka_unit_test(test_domain__to_string_escapes),
        cmocka_unit_test(test_domain__long_chains_are_flat),
        cmocka_unit_test(test_domain__long_not_chains_cancel),
        cmocka_unit_test(test_domain__depth_limit),
        cmocka_unit_test(test_domain__any_shape_on_a_small_stack),
        cmocka_unit_test(test_domain__norm_sets_of_one_field),
        cmocka_unit_test(test_domain__norm_any_leaves_merge),
        cmocka_unit_test(test_domain__nul_bytes_refused),
        cmocka_unit_test(test_domain__non_stored_computed_refused),
        cmocka_unit_test(test_domain__like_escape),
        cmocka_unit_test(test_domain__bind_stops_at_the_deadline),
        cmocka_unit_test(test_domain__eq_opt),
        cmocka_unit_test(test_domain__active_test),
    };
    return cmocka_run_group_tests_name("domain", tests, setup, teardown);
}
