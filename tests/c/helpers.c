/*
 * helpers.c - fixtures shared by the cmocka tests.
 */
#include "helpers.h"

static void add(eo_model *m, eo_field_spec *s)
{
    eo_error err;
    int rc = eo_model_add_field(NULL, m, s, &err);
    if (rc != EO_OK)
        fail_msg("fixture field %s: %s", s->name, err.msg);
}

eo_registry *th_registry(void)
{
    eo_registry *reg = NULL;
    eo_model *p = NULL, *t = NULL;
    eo_error err;
    eo_field_spec s;
    static const char *const kinds[] = { "person", "company" };
    eo_value dtrue = eo_bool(1), dperson = eo_cstr("person");

    if (eo_registry_new(&reg, &err) != EO_OK || eo_registry_add_model(&p, reg, "res.partner", &err) != EO_OK ||
        eo_registry_add_model(&t, reg, "res.tag", &err) != EO_OK)
        fail_msg("fixture: %s", err.msg);

#define F(...) do { memset(&s, 0, sizeof s); __VA_ARGS__; add(p, &s); } while (0)
    F(s.name = "name"; s.type = EO_FT_CHAR; s.flags = EO_FF_REQUIRED | EO_FF_INDEX; s.size = 32);
    F(s.name = "email"; s.type = EO_FT_CHAR; s.flags = EO_FF_UNIQUE);
    F(s.name = "age"; s.type = EO_FT_INTEGER; s.flags = EO_FF_HAS_MIN | EO_FF_HAS_MAX; s.min = 0; s.max = 150);
    F(s.name = "score"; s.type = EO_FT_FLOAT);
    F(s.name = "active"; s.type = EO_FT_BOOLEAN; s.def = &dtrue);
    F(s.name = "birthday"; s.type = EO_FT_DATE);
    F(s.name = "seen_at"; s.type = EO_FT_DATETIME);
    F(s.name = "kind"; s.type = EO_FT_SELECTION; s.choices = kinds; s.nchoices = 2; s.def = &dperson);
    F(s.name = "data"; s.type = EO_FT_JSON);
    F(s.name = "price"; s.type = EO_FT_DECIMAL; s.precision = 12; s.scale = 2);
    F(s.name = "blob"; s.type = EO_FT_BINARY);
    F(s.name = "parent_id"; s.type = EO_FT_MANY2ONE; s.comodel = "res.partner");
#undef F
    memset(&s, 0, sizeof s);
    s.name = "name";
    s.type = EO_FT_CHAR;
    add(t, &s);
    if (eo_registry_resolve(reg, &err) != EO_OK)
        fail_msg("fixture resolve: %s", err.msg);
    return reg;
}

eo_model *th_partner(eo_registry *reg)
{
    return eo_registry_find(reg, "res.partner");
}
