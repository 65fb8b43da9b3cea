/*
 * test_model.c - the schema registry: models, fields, resolution.
 */
#include "helpers.h"

typedef struct fixture {
    eo_registry *reg;
    eo_model *m;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    eo_error err;
    if (fx == NULL || eo_registry_new(&fx->reg, &err) != EO_OK ||
        eo_registry_add_model(&fx->m, fx->reg, "res.partner", &err) != EO_OK)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    eo_registry_free(fx->reg);
    free(fx);
    return 0;
}

static eo_field_spec spec(const char *name, eo_ftype type)
{
    eo_field_spec s;
    memset(&s, 0, sizeof s);
    s.name = name;
    s.type = type;
    return s;
}

static void test_model__add_model(void **state)
{
    fixture *fx = *state;
    eo_model *m = fx->m, *t = NULL;
    eo_error err;
    unsigned v0;
    assert_string_equal(m->name, "res.partner");
    assert_string_equal(m->table, "res_partner");
    assert_string_equal(m->description, "res.partner");
    assert_string_equal(m->order, "id");
    assert_string_equal(m->parent_name, "parent_id");
    assert_null(m->rec_name);
    assert_ptr_equal(m->registry, fx->reg);
    /* the implicit id comes first */
    assert_int_equal(m->nfields, 1);
    assert_string_equal(m->fields[0]->name, "id");
    assert_int_equal(m->fields[0]->type, EO_FT_ID);
    assert_true(m->fields[0]->flags & EO_FF_STORED);
    assert_true(m->fields[0]->flags & EO_FF_READONLY);
    assert_ptr_equal(eo_model_field(m, "id", 2), m->fields[0]);

    v0 = eo_registry_version(fx->reg);
    assert_eo_ok(eo_registry_add_model(&t, fx->reg, "res.partner.category2", &err), &err);
    assert_string_equal(t->table, "res_partner_category2");
    assert_true(eo_registry_version(fx->reg) > v0);
    assert_int_equal(eo_registry_count(fx->reg), 2);
    assert_ptr_equal(eo_registry_at(fx->reg, 0), m);
    assert_ptr_equal(eo_registry_at(fx->reg, 1), t);
    assert_null(eo_registry_at(fx->reg, 2));
    assert_ptr_equal(eo_registry_find(fx->reg, "res.partner.category2"), t);
    assert_null(eo_registry_find(fx->reg, "res.nothing"));
}

static void test_model__bad_model_names(void **state)
{
    fixture *fx = *state;
    static const char *const bad[] = {
        "", "Res.Partner", ".res", "res.", "res..partner", "res.9x", "9res",
        "res-partner", "res partner", "res.partner$", "res.\"x",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eo_model *m = (eo_model *)1;
        eo_error err;
        char want[128];
        snprintf(want, sizeof want, "invalid model name '%s'", bad[i]);
        assert_eo_error(eo_registry_add_model(&m, fx->reg, bad[i], &err), &err, EO_EINVAL, want);
        assert_non_null(strstr(err.msg, "lowercase words separated by dots"));
        assert_null(m);
        assert_string_equal(err.model, bad[i]);
    }
    assert_int_equal(eo_registry_count(fx->reg), 1);
}

static void test_model__good_model_names(void **state)
{
    fixture *fx = *state;
    static const char *const good[] = { "a", "res_x", "res.x9", "a.b.c", "_private" };
    size_t i;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        eo_model *m = NULL;
        eo_error err;
        assert_eo_ok(eo_registry_add_model(&m, fx->reg, good[i], &err), &err);
        assert_non_null(m);
    }
    assert_int_equal(eo_registry_count(fx->reg), 6);
}

static void test_model__duplicate_model(void **state)
{
    fixture *fx = *state;
    eo_model *m = (eo_model *)1;
    eo_error err;
    assert_eo_error(eo_registry_add_model(&m, fx->reg, "res.partner", &err), &err, EO_ECONFLICT,
                    "model res.partner is already defined");
    assert_null(m);
    assert_string_equal(err.model, "res.partner");
    assert_int_equal(eo_registry_count(fx->reg), 1);
}

static void test_model__add_field(void **state)
{
    fixture *fx = *state;
    eo_field *f = NULL;
    eo_field_spec s = spec("name", EO_FT_CHAR);
    eo_error err;
    unsigned v0 = eo_registry_version(fx->reg);
    s.size = 64;
    s.flags = EO_FF_REQUIRED | EO_FF_INDEX;
    s.string = "Name";
    s.help = "The display name";
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_non_null(f);
    assert_string_equal(f->name, "name");
    assert_string_equal(f->column, "name");
    assert_string_equal(f->string, "Name");
    assert_string_equal(f->help, "The display name");
    assert_int_equal(f->size, 64);
    assert_int_equal(f->index, 1);
    assert_ptr_equal(f->model, fx->m);
    assert_true(f->flags & EO_FF_STORED);
    assert_true(f->flags & EO_FF_REQUIRED);
    assert_true(f->flags & EO_FF_INDEX);
    assert_ptr_equal(eo_model_field(fx->m, "name", 4), f);
    assert_ptr_equal(eo_model_field(fx->m, "name_x", 4), f); /* by length */
    assert_null(eo_model_field(fx->m, "nam", 3));
    assert_int_equal(fx->m->nfields, 2);
    assert_true(eo_registry_version(fx->reg) > v0);
    /* a field called "name" becomes the record name */
    assert_string_equal(fx->m->rec_name, "name");
    /* string defaults to the name; out may be NULL */
    s = spec("email", EO_FT_CHAR);
    assert_eo_ok(eo_model_add_field(NULL, fx->m, &s, &err), &err);
    assert_string_equal(eo_model_field(fx->m, "email", 5)->string, "email");
    assert_null(eo_model_field(fx->m, "email", 5)->help);
}

static void test_model__field_flags_by_type(void **state)
{
    fixture *fx = *state;
    eo_field *f = NULL;
    eo_field_spec s;
    eo_error err;
    static const char *const deps[] = { "name" };

    s = spec("blob", EO_FT_BINARY);
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_true(f->flags & EO_FF_NOPREFETCH); /* large binaries load on demand */
    assert_true(f->flags & EO_FF_STORED);

    s = spec("price", EO_FT_DECIMAL);
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_int_equal(f->precision, 18); /* default digits */
    assert_int_equal(f->scale, 2);

    s = spec("display", EO_FT_CHAR);
    s.flags = EO_FF_COMPUTED | EO_FF_STORED; /* STORED from the caller is ignored */
    s.depends = deps;
    s.ndepends = 1;
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_false(f->flags & EO_FF_STORED);
    assert_true(f->flags & EO_FF_READONLY);
    assert_null(f->column);
    assert_int_equal(f->ndepends, 1);
    assert_string_equal(f->depends[0], "name");

    s = spec("display2", EO_FT_CHAR);
    s.flags = EO_FF_COMPUTED;
    s.store = 1;
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_true(f->flags & EO_FF_STORED);
    assert_false(f->flags & EO_FF_READONLY);
    assert_string_equal(f->column, "display2");

    s = spec("child_ids", EO_FT_ONE2MANY);
    s.comodel = "res.partner";
    s.inverse = "parent_id";
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_false(f->flags & EO_FF_STORED);
    assert_true(f->flags & EO_FF_NOCOPY);
    assert_null(f->column);
    assert_string_equal(f->comodel_name, "res.partner");
    assert_string_equal(f->inverse, "parent_id");
    assert_null(f->comodel); /* until resolved */
}

static void test_model__field_name_with_dot(void **state)
{
    fixture *fx = *state;
    eo_field *f = (eo_field *)1;
    eo_field_spec s = spec("parent.name", EO_FT_CHAR);
    eo_error err;
    assert_eo_error(eo_model_add_field(&f, fx->m, &s, &err), &err, EO_EINVAL,
                    "res.partner.parent.name: '.' is not allowed in a field name (it separates relation paths)");
    assert_null(f);
    assert_string_equal(err.model, "res.partner");
    assert_string_equal(err.field, "parent.name");
    assert_int_equal(fx->m->nfields, 1);
}

static void test_model__field_name_with_dollar(void **state)
{
    fixture *fx = *state;
    eo_field_spec s = spec("$where", EO_FT_CHAR);
    eo_error err;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "'$' is not allowed in a field name (MongoDB reserves it for operators)");
    s.name = "price$";
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "res.partner.price$: '$' is not allowed");
    assert_int_equal(fx->m->nfields, 1);
}

static void test_model__field_name_other_rules(void **state)
{
    fixture *fx = *state;
    eo_field_spec s = spec("", EO_FT_CHAR);
    eo_error err;
    char longname[80];
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "a field name cannot be empty");
    s.name = "1abc";
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "a field name starts with a letter or '_'");
    s.name = "a-b";
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "a field name holds only letters, digits and '_'");
    s.name = "a\"b";
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "only letters, digits and '_'");
    memset(longname, 'a', 61);
    longname[61] = '\0';
    s.name = longname;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "a field name is at most 60 characters");
    longname[60] = '\0';
    assert_eo_ok(eo_model_add_field(NULL, fx->m, &s, &err), &err);
    s.name = "_x1";
    assert_eo_ok(eo_model_add_field(NULL, fx->m, &s, &err), &err);
    assert_int_equal(fx->m->nfields, 3);
}

static void test_model__duplicate_field(void **state)
{
    fixture *fx = *state;
    eo_field_spec s = spec("age", EO_FT_INTEGER);
    eo_error err;
    assert_eo_ok(eo_model_add_field(NULL, fx->m, &s, &err), &err);
    s.type = EO_FT_CHAR;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_ECONFLICT,
                    "res.partner.age: field defined twice");
    assert_string_equal(err.field, "age");
    /* the implicit id cannot be redefined either */
    s.name = "id";
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_ECONFLICT,
                    "res.partner.id: field defined twice");
    assert_int_equal(fx->m->nfields, 2);
    assert_int_equal(eo_model_field(fx->m, "age", 3)->type, EO_FT_INTEGER);
    /* nor a name differing only in case (one column on SQL, two keys on MongoDB) */
    s.name = "Age";
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_ECONFLICT,
                    "res.partner: fields 'age' and 'Age' differ only in case");
    assert_string_equal(err.field, "Age");
    assert_int_equal(fx->m->nfields, 2);
}

static void test_model__shared_table(void **state)
{
    fixture *fx = *state;
    eo_model *m = (eo_model *)1;
    eo_error err;
    assert_eo_error(eo_registry_add_model(&m, fx->reg, "res_partner", &err), &err, EO_ECONFLICT,
                    "models res.partner and res_partner would share the table res_partner");
    assert_null(m);
    assert_string_equal(err.model, "res_partner");
    assert_eo_error(eo_registry_add_model(&m, fx->reg, "earnorm_history", &err), &err,
                    EO_ECONFLICT,
                    "models earnorm.history (the engine's) and earnorm_history would share the "
                    "table earnorm_history: the table is reserved for the engine");
    assert_int_equal(eo_registry_count(fx->reg), 1);
    assert_eo_ok(eo_registry_add_model(&m, fx->reg, "earnorm.history", &err), &err);
    assert_eo_error(eo_registry_add_model(&m, fx->reg, "earnorm_history", &err), &err,
                    EO_ECONFLICT, "models earnorm.history (the engine's) and earnorm_history "
                    "would share the table earnorm_history: the table is reserved for the engine");
}

static void test_model__set_indexes(void **state)
{
    fixture *fx = *state;
    eo_field_spec s = spec("email", EO_FT_CHAR);
    eo_field_spec o2m = spec("kids", EO_FT_ONE2MANY);
    eo_index_spec ix[2];
    const char *pair[] = { "email", "company" };
    const char *bad[] = { "email", "nope" };
    const char *kids[] = { "kids" };
    eo_error err;
    assert_eo_ok(eo_model_add_field(NULL, fx->m, &s, &err), &err);
    s = spec("company", EO_FT_INTEGER);
    assert_eo_ok(eo_model_add_field(NULL, fx->m, &s, &err), &err);
    o2m.comodel = "res.partner";
    o2m.inverse = "parent_id";
    assert_eo_ok(eo_model_add_field(NULL, fx->m, &o2m, &err), &err);
    memset(ix, 0, sizeof ix);
    ix[0].constraint = "email_company_uniq";
    ix[0].message = "once per company";
    ix[0].fields = pair;
    ix[0].nfields = 2;
    ix[0].unique = 1;
    ix[1].fields = pair;
    ix[1].nfields = 2;
    assert_eo_ok(eo_model_set_indexes(fx->m, ix, 2, &err), &err);
    assert_int_equal(fx->m->nindexes, 2);
    assert_string_equal(fx->m->indexes[0].name, "res_partner__email_company_uniq_ckey");
    assert_string_equal(fx->m->indexes[0].message, "once per company");
    assert_true(fx->m->indexes[0].unique);
    assert_string_equal(fx->m->indexes[1].name, "res_partner__email_company_cidx");
    assert_null(fx->m->indexes[1].constraint);
    /* errors leave the indexes as they were */
    ix[1].fields = bad;
    assert_eo_error(eo_model_set_indexes(fx->m, ix, 2, &err), &err, EO_EINVAL,
                    "res.partner: index field 'nope' is not a stored field");
    assert_string_equal(err.field, "nope");
    ix[1].fields = kids;
    ix[1].nfields = 1;
    assert_eo_error(eo_model_set_indexes(fx->m, ix, 2, &err), &err, EO_EINVAL,
                    "index field 'kids' is not a stored field");
    ix[0].constraint = "bad name";
    assert_eo_error(eo_model_set_indexes(fx->m, ix, 1, &err), &err, EO_EINVAL,
                    "res.partner: a unique constraint needs a name of letters, digits and '_'");
    ix[0].constraint = NULL;
    assert_eo_error(eo_model_set_indexes(fx->m, ix, 1, &err), &err, EO_EINVAL,
                    "a unique constraint needs a name");
    ix[0].nfields = 0;
    ix[0].unique = 0;
    assert_eo_error(eo_model_set_indexes(fx->m, ix, 1, &err), &err, EO_EINVAL,
                    "res.partner: an index takes 1 to 32 fields");
    assert_int_equal(fx->m->nindexes, 2);
    assert_string_equal(fx->m->indexes[1].name, "res_partner__email_company_cidx");
    /* a name past 63 bytes keeps a prefix and a hash */
    {
        const char *longs[] = { "a_rather_long_field_name_one", "a_rather_long_field_name_two" };
        s = spec(longs[0], EO_FT_CHAR);
        assert_eo_ok(eo_model_add_field(NULL, fx->m, &s, &err), &err);
        s = spec(longs[1], EO_FT_CHAR);
        assert_eo_ok(eo_model_add_field(NULL, fx->m, &s, &err), &err);
        memset(ix, 0, sizeof ix);
        ix[0].fields = longs;
        ix[0].nfields = 2;
        assert_eo_ok(eo_model_set_indexes(fx->m, ix, 1, &err), &err);
        assert_int_equal(strlen(fx->m->indexes[0].name), 63);
        assert_memory_equal(fx->m->indexes[0].name, "res_partner__a_rather_long", 26);
        assert_string_equal(fx->m->indexes[0].name + 58, "_cidx");
    }
    /* none */
    assert_eo_ok(eo_model_set_indexes(fx->m, NULL, 0, &err), &err);
    assert_int_equal(fx->m->nindexes, 0);
}

static void test_model__bad_type(void **state)
{
    fixture *fx = *state;
    eo_field_spec s = spec("x", (eo_ftype)99);
    eo_error err;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "res.partner.x: unknown field type");
    s.type = EO_FT_ID; /* only the implicit id has this type */
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "unknown field type");
}

static void test_model__selection_without_choices(void **state)
{
    fixture *fx = *state;
    eo_field_spec s = spec("kind", EO_FT_SELECTION);
    eo_error err;
    static const char *const choices[] = { "a", "b" };
    eo_field *f = NULL;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "res.partner.kind: a Selection needs choices = { ... }");
    assert_string_equal(err.field, "kind");
    s.choices = choices;
    s.nchoices = 2;
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_int_equal(f->nchoices, 2);
    assert_string_equal(f->choices[1], "b");
    assert_ptr_not_equal(f->choices, choices); /* copied */
}

static void test_model__relational_needs_comodel(void **state)
{
    fixture *fx = *state;
    eo_field_spec s = spec("parent_id", EO_FT_MANY2ONE);
    eo_error err;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "res.partner.parent_id: a relational field needs the comodel name as its first argument");
    s.comodel = "";
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "needs the comodel name");
    s = spec("tag_ids", EO_FT_MANY2MANY);
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "res.partner.tag_ids: a relational field needs the comodel name");
}

static void test_model__one2many_without_inverse(void **state)
{
    fixture *fx = *state;
    eo_field_spec s = spec("child_ids", EO_FT_ONE2MANY);
    eo_error err;
    s.comodel = "res.partner";
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "res.partner.child_ids: a One2many needs the inverse Many2one field name as its second argument");
    s.inverse = "";
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "needs the inverse Many2one");
    assert_null(eo_model_field(fx->m, "child_ids", 9));
}

static void test_model__decimal_digits(void **state)
{
    fixture *fx = *state;
    eo_field_spec s = spec("price", EO_FT_DECIMAL);
    eo_error err;
    eo_field *f = NULL;
    s.precision = 19;
    s.scale = 2;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "res.partner.price: digits must be { precision <= 18, scale <= precision }");
    s.precision = 4;
    s.scale = 5;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL, "digits must be");
    s.precision = -1;
    s.scale = 0;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL, "digits must be");
    s.precision = 10;
    s.scale = -1;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL, "digits must be");
    s.precision = 18;
    s.scale = 18;
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_int_equal(f->precision, 18);
    assert_int_equal(f->scale, 18);
}

static void test_model__other_bad_options(void **state)
{
    fixture *fx = *state;
    eo_field_spec s = spec("code", EO_FT_CHAR);
    eo_error err;
    s.size = -3;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "res.partner.code: size must be positive");
    s = spec("tag_ids", EO_FT_MANY2MANY);
    s.comodel = "res.partner";
    s.flags = EO_FF_UNIQUE;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "res.partner.tag_ids: unique applies to stored fields only");
    assert_int_equal(fx->m->nfields, 1);
}

static void test_model__resolve_undefined_comodel(void **state)
{
    fixture *fx = *state;
    eo_field_spec s = spec("country_id", EO_FT_MANY2ONE);
    eo_error err;
    s.comodel = "res.country";
    assert_eo_ok(eo_model_add_field(NULL, fx->m, &s, &err), &err);
    assert_eo_error(eo_registry_resolve(fx->reg, &err), &err, EO_ENOTFOUND,
                    "res.partner.country_id refers to model res.country, which is not defined");
    assert_string_equal(err.model, "res.partner");
    assert_string_equal(err.field, "country_id");
    /* defining the comodel afterwards makes it resolve */
    {
        eo_model *c = NULL;
        assert_eo_ok(eo_registry_add_model(&c, fx->reg, "res.country", &err), &err);
        assert_eo_ok(eo_registry_resolve(fx->reg, &err), &err);
        assert_ptr_equal(eo_model_field(fx->m, "country_id", 10)->comodel, c);
    }
}

static void test_model__resolve_bad_inverse(void **state)
{
    fixture *fx = *state;
    eo_field_spec s = spec("child_ids", EO_FT_ONE2MANY);
    eo_error err;
    s.comodel = "res.partner";
    s.inverse = "parent_id";
    assert_eo_ok(eo_model_add_field(NULL, fx->m, &s, &err), &err);
    assert_eo_error(eo_registry_resolve(fx->reg, &err), &err, EO_ENOTFOUND,
                    "res.partner.child_ids: inverse field res.partner.parent_id must be a Many2one to res.partner");
    /* an inverse of the wrong type is refused the same way */
    s = spec("parent_id", EO_FT_INTEGER);
    assert_eo_ok(eo_model_add_field(NULL, fx->m, &s, &err), &err);
    assert_eo_error(eo_registry_resolve(fx->reg, &err), &err, EO_ENOTFOUND,
                    "inverse field res.partner.parent_id must be a Many2one");
}

static void test_model__resolve_one2many(void **state)
{
    fixture *fx = *state;
    eo_field_spec s;
    eo_error err;
    eo_field *o2m = NULL;
    s = spec("parent_id", EO_FT_MANY2ONE);
    s.comodel = "res.partner";
    s.ondelete = EO_ONDELETE_CASCADE;
    assert_eo_ok(eo_model_add_field(NULL, fx->m, &s, &err), &err);
    s = spec("child_ids", EO_FT_ONE2MANY);
    s.comodel = "res.partner";
    s.inverse = "parent_id";
    assert_eo_ok(eo_model_add_field(&o2m, fx->m, &s, &err), &err);
    assert_eo_ok(eo_registry_resolve(fx->reg, &err), &err);
    assert_ptr_equal(o2m->comodel, fx->m);
    assert_int_equal(eo_model_field(fx->m, "parent_id", 9)->ondelete, EO_ONDELETE_CASCADE);
    /* resolving again is harmless */
    assert_eo_ok(eo_registry_resolve(fx->reg, &err), &err);
}

static void test_model__many2many_junction_defaults(void **state)
{
    fixture *fx = *state;
    eo_model *tag = NULL;
    eo_field *a = NULL, *b = NULL, *self = NULL, *named = NULL;
    eo_field_spec s;
    eo_error err;
    assert_eo_ok(eo_registry_add_model(&tag, fx->reg, "res.tag", &err), &err);
    s = spec("tag_ids", EO_FT_MANY2MANY);
    s.comodel = "res.tag";
    assert_eo_ok(eo_model_add_field(&a, fx->m, &s, &err), &err);
    s = spec("partner_ids", EO_FT_MANY2MANY);
    s.comodel = "res.partner";
    assert_eo_ok(eo_model_add_field(&b, tag, &s, &err), &err);
    s = spec("friend_ids", EO_FT_MANY2MANY);
    s.comodel = "res.partner";
    assert_eo_ok(eo_model_add_field(&self, fx->m, &s, &err), &err);
    s = spec("label_ids", EO_FT_MANY2MANY);
    s.comodel = "res.tag";
    s.relation = "partner_label";
    s.column1 = "p";
    s.column2 = "l";
    assert_eo_ok(eo_model_add_field(&named, fx->m, &s, &err), &err);
    assert_null(a->relation);
    assert_eo_ok(eo_registry_resolve(fx->reg, &err), &err);
    /* the junction is named from both tables in sorted order: both sides agree */
    assert_string_equal(a->relation, "res_partner_res_tag_rel");
    assert_string_equal(a->column1, "res_partner_id");
    assert_string_equal(a->column2, "res_tag_id");
    assert_string_equal(b->relation, "res_partner_res_tag_rel");
    assert_string_equal(b->column1, "res_tag_id");
    assert_string_equal(b->column2, "res_partner_id");
    /* self-referencing: the second column gets a suffix */
    assert_string_equal(self->relation, "res_partner_res_partner_rel");
    assert_string_equal(self->column1, "res_partner_id");
    assert_string_equal(self->column2, "res_partner_id2");
    /* given names are kept */
    assert_string_equal(named->relation, "partner_label");
    assert_string_equal(named->column1, "p");
    assert_string_equal(named->column2, "l");
    assert_false(a->flags & EO_FF_STORED);
    assert_null(a->column);
}

static void test_model__static_default_converted(void **state)
{
    fixture *fx = *state;
    eo_field_spec s;
    eo_error err;
    eo_field *f = NULL;
    eo_value d;
    static const char *const kinds[] = { "person", "company" };

    d = eo_cstr("42");
    s = spec("level", EO_FT_INTEGER);
    s.def = &d;
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_true(f->flags & EO_FF_DEFAULT);
    assert_int_equal(f->def.type, EO_VINT);
    assert_int_equal(f->def.u.i, 42);

    d = eo_cstr("2024-01-02T03:04:05+01:00");
    s = spec("since", EO_FT_DATETIME);
    s.def = &d;
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_int_equal(f->def.type, EO_VTEXT);
    assert_string_equal(f->def.u.s.p, "2024-01-02 02:04:05");
    assert_true(f->def.owned); /* the field owns its copy */

    d = eo_int(1);
    s = spec("flag", EO_FT_BOOLEAN);
    s.def = &d;
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_int_equal(f->def.type, EO_VBOOL);
    assert_int_equal(f->def.u.b, 1);

    d = eo_float(3.14159);
    s = spec("amount", EO_FT_DECIMAL);
    s.precision = 10;
    s.scale = 2;
    s.def = &d;
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_string_equal(f->def.u.s.p, "3.14");

    d = eo_cstr("company");
    s = spec("kind", EO_FT_SELECTION);
    s.choices = kinds;
    s.nchoices = 2;
    s.def = &d;
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_string_equal(f->def.u.s.p, "company");

    /* a NULL default is no default */
    d = eo_null();
    s = spec("note", EO_FT_TEXT);
    s.def = &d;
    assert_eo_ok(eo_model_add_field(&f, fx->m, &s, &err), &err);
    assert_false(f->flags & EO_FF_DEFAULT);
}

static void test_model__invalid_default_refused(void **state)
{
    fixture *fx = *state;
    eo_field_spec s;
    eo_error err;
    eo_value d;
    static const char *const kinds[] = { "person", "company" };

    d = eo_cstr("abc");
    s = spec("level", EO_FT_INTEGER);
    s.def = &d;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EINVAL,
                    "invalid default: res.partner.level: expected an integer, got text 'abc'");
    assert_string_equal(err.model, "res.partner");
    assert_string_equal(err.field, "level");
    assert_null(eo_model_field(fx->m, "level", 5));

    d = eo_cstr("alien");
    s = spec("kind", EO_FT_SELECTION);
    s.choices = kinds;
    s.nchoices = 2;
    s.def = &d;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EVALIDATE,
                    "invalid default: res.partner.kind: 'alien' is not one of: person, company");

    d = eo_int(200);
    s = spec("age", EO_FT_INTEGER);
    s.flags = EO_FF_HAS_MAX;
    s.max = 150;
    s.def = &d;
    assert_eo_error(eo_model_add_field(NULL, fx->m, &s, &err), &err, EO_EVALIDATE,
                    "invalid default: res.partner.age: 200 is more than the maximum 150");
    assert_int_equal(fx->m->nfields, 1);
}

static void test_model__model_set(void **state)
{
    fixture *fx = *state;
    eo_error err;
    unsigned v0 = eo_registry_version(fx->reg);
    assert_eo_ok(eo_model_set(fx->m, "Contact", "name desc", NULL, "email", &err), &err);
    assert_string_equal(fx->m->description, "Contact");
    assert_string_equal(fx->m->order, "name desc");
    assert_string_equal(fx->m->parent_name, "parent_id"); /* NULL: unchanged */
    assert_string_equal(fx->m->rec_name, "email");
    assert_true(eo_registry_version(fx->reg) > v0);
}

static void test_model__ftype_names(void **state)
{
    static const char *const names[] = {
        "Id", "Char", "Text", "Integer", "Float", "Boolean", "Date", "Datetime",
        "Selection", "Json", "Decimal", "Binary", "Many2one", "One2many", "Many2many",
    };
    int i;
    (void)state;
    for (i = 0; i <= EO_FT_MANY2MANY; i++) {
        assert_string_equal(eo_ftype_name((eo_ftype)i), names[i]);
        assert_int_equal(eo_ftype_from_name(names[i]), i);
    }
    assert_string_equal(eo_ftype_name((eo_ftype)99), "?");
    assert_int_equal(eo_ftype_from_name("char"), -1); /* case matters */
    assert_int_equal(eo_ftype_from_name("Nope"), -1);
}

static void test_model__fixture_registry(void **state)
{
    eo_registry *reg = th_registry();
    eo_model *p = th_partner(reg);
    const eo_field *parent = th_field(p, "parent_id");
    (void)state;
    assert_int_equal(eo_registry_count(reg), 2);
    assert_int_equal(p->nfields, 13);
    assert_ptr_equal(parent->comodel, p);
    assert_true(th_field(p, "active")->flags & EO_FF_DEFAULT);
    assert_int_equal(th_field(p, "active")->def.type, EO_VBOOL);
    assert_string_equal(th_field(p, "kind")->def.u.s.p, "person");
    eo_registry_free(reg);
    eo_registry_free(NULL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_model__add_model),
        T(test_model__bad_model_names),
        T(test_model__good_model_names),
        T(test_model__duplicate_model),
        T(test_model__shared_table),
        T(test_model__set_indexes),
        T(test_model__add_field),
        T(test_model__field_flags_by_type),
        T(test_model__field_name_with_dot),
        T(test_model__field_name_with_dollar),
        T(test_model__field_name_other_rules),
        T(test_model__duplicate_field),
        T(test_model__bad_type),
        T(test_model__selection_without_choices),
        T(test_model__relational_needs_comodel),
        T(test_model__one2many_without_inverse),
        T(test_model__decimal_digits),
        T(test_model__other_bad_options),
        T(test_model__resolve_undefined_comodel),
        T(test_model__resolve_bad_inverse),
        T(test_model__resolve_one2many),
        T(test_model__many2many_junction_defaults),
        T(test_model__static_default_converted),
        T(test_model__invalid_default_refused),
        T(test_model__model_set),
        T(test_model__ftype_names),
        T(test_model__fixture_registry),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
