/*
 * types.c - the field types built on a storage type.
 *
 * Html is Text, Monetary is Decimal, Reference is Char and Properties is
 * Json as far as storage, comparison and the adapters go (eo_ftype_base).
 * What is their own lives here: the options they take (a Monetary's
 * currency field, a Reference's models, a Properties field's definition),
 * the check at registry resolution that what they name exists, and the
 * conversion rules a Reference and a Properties value follow on top of
 * their base type's.
 *
 * It does not check a Reference's record for existence (that needs the
 * database: orm/reference.c) nor a Properties value against its schema
 * (the schema is a record: the Lua layer, earnorm/properties.lua, checks
 * it on create and write). Html is not sanitized yet: the binding refuses
 * `sanitize = true`.
 */
#include <ctype.h>
#include <stdio.h>

#include "types_int.h"
#include "../util/json.h"

static int field_fail(eo_error *err, int code, const char *model, const char *field,
                      const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static int field_fail(eo_error *err, int code, const char *model, const char *field,
                      const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    eo_error_set(err, code, "%s.%s: %s", model ? model : "?", field, what);
    eo_error_where(err, model, field);
    return code;
}

/* "res.partner": dotted lowercase words, as eo_registry_add_model takes. */
static int model_name_ok(const char *s, size_t n)
{
    size_t i;
    int prev_dot = 1;
    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (prev_dot)
                return 0;
            prev_dot = 1;
        } else if (islower((unsigned char)s[i]) || s[i] == '_' ||
                   (!prev_dot && isdigit((unsigned char)s[i]))) {
            prev_dot = 0;
        } else {
            return 0;
        }
    }
    return !prev_dot;
}

int eo_types__check_spec(const eo_model *m, const eo_field_spec *spec, eo_error *err)
{
    size_t i;
    if (spec->type != EO_FT_MONETARY && spec->currency_field)
        return field_fail(err, EO_EINVAL, m->name, spec->name,
                          "currency_field applies to Monetary fields only");
    if (spec->type != EO_FT_PROPERTIES && (spec->definition || spec->definition_field))
        return field_fail(err, EO_EINVAL, m->name, spec->name,
                          "definition applies to Properties fields only");
    switch (spec->type) {
    case EO_FT_MONETARY:
        if (spec->currency_field && *spec->currency_field == '\0')
            return field_fail(err, EO_EINVAL, m->name, spec->name,
                              "currency_field must name a field");
        return EO_OK;
    case EO_FT_REFERENCE:
        if (spec->nchoices == 0)
            return field_fail(err, EO_EINVAL, m->name, spec->name,
                              "a Reference needs selection = { \"model\", ... }: the models "
                              "it may point to");
        for (i = 0; i < spec->nchoices; i++)
            if (spec->choices[i] == NULL ||
                !model_name_ok(spec->choices[i], strlen(spec->choices[i])))
                return field_fail(err, EO_EINVAL, m->name, spec->name,
                                  "selection: '%s' is not a model name",
                                  spec->choices[i] ? spec->choices[i] : "(null)");
        return EO_OK;
    case EO_FT_PROPERTIES:
        if (spec->definition == NULL || *spec->definition == '\0')
            return field_fail(err, EO_EINVAL, m->name, spec->name,
                              "a Properties field needs definition = \"<Many2one field>\": the "
                              "record whose Json field holds the schema");
        if (spec->definition_field && *spec->definition_field == '\0')
            return field_fail(err, EO_EINVAL, m->name, spec->name,
                              "definition_field must name a field");
        if (spec->flags & EO_FF_UNIQUE)
            return field_fail(err, EO_EINVAL, m->name, spec->name,
                              "a Properties field cannot be unique");
        return EO_OK;
    default:
        return EO_OK;
    }
}

int eo_types__copy(eo_field *f, const eo_field_spec *spec)
{
    if (spec->type == EO_FT_MONETARY &&
        (f->currency_field = eo_strdup(spec->currency_field ? spec->currency_field
                                                            : EO_MONETARY_CURRENCY)) == NULL)
        return EO_ENOMEM;
    if (spec->type == EO_FT_PROPERTIES &&
        ((f->definition = eo_strdup(spec->definition)) == NULL ||
         (f->definition_field = eo_strdup(spec->definition_field ? spec->definition_field
                                                                 : EO_PROPERTIES_DEFINITION)) ==
             NULL))
        return EO_ENOMEM;
    return EO_OK;
}

void eo_types__free(eo_field *f)
{
    eo_free(f->currency_field);
    eo_free(f->definition);
    eo_free(f->definition_field);
}

static int not_found(eo_error *err, const eo_model *m, const eo_field *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int not_found(eo_error *err, const eo_model *m, const eo_field *f, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return field_fail(err, EO_ENOTFOUND, m->name, f->name, "%s", what);
}

int eo_types__resolve(eo_registry *reg, const eo_model *m, const eo_field *f, eo_error *err)
{
    const eo_field *g;
    const eo_model *cm;
    size_t i;
    switch (f->type) {
    case EO_FT_MONETARY:
        g = eo_model_field(m, f->currency_field, strlen(f->currency_field));
        if (g == NULL)
            return not_found(err, m, f,
                             "currency_field '%s' is not a field of %s (a Monetary needs a "
                             "Many2one or Char field %s.%s naming its currency)",
                             f->currency_field, m->name, m->name, f->currency_field);
        if (g->type != EO_FT_MANY2ONE && g->type != EO_FT_CHAR)
            return not_found(err, m, f,
                             "currency_field '%s' is a %s field; a Monetary's currency field "
                             "must be a Many2one or a Char",
                             f->currency_field, eo_ftype_name(g->type));
        return EO_OK;
    case EO_FT_REFERENCE:
        for (i = 0; i < f->nchoices; i++)
            if (eo_registry_find(reg, f->choices[i]) == NULL)
                return not_found(err, m, f, "selection names model %s, which is not defined",
                                 f->choices[i]);
        return EO_OK;
    case EO_FT_PROPERTIES:
        g = eo_model_field(m, f->definition, strlen(f->definition));
        if (g == NULL || g->type != EO_FT_MANY2ONE)
            return not_found(err, m, f,
                             "definition '%s' must be a Many2one field of %s (the record "
                             "holding the schema)%s",
                             f->definition, m->name, g ? "" : ", and there is no such field");
        cm = eo_registry_find(reg, g->comodel_name);
        if (cm == NULL)
            return not_found(err, m, f, "definition %s.%s refers to model %s, which is not defined",
                             m->name, g->name, g->comodel_name);
        g = eo_model_field(cm, f->definition_field, strlen(f->definition_field));
        if (g == NULL || g->type != EO_FT_JSON || !(g->flags & EO_FF_STORED))
            return not_found(err, m, f,
                             "the definition model %s needs a stored Json field '%s' holding "
                             "the schema%s",
                             cm->name, f->definition_field,
                             g ? "" : " (name another one with definition_field = ...)");
        return EO_OK;
    default:
        return EO_OK;
    }
}

int eo_reference__split(const char *p, size_t n, const char **model, size_t *mlen,
                        const char **id, size_t *idlen)
{
    const char *comma = memchr(p, ',', n);
    size_t i, k;
    int hex = 1, dec = 1;
    if (comma == NULL)
        return -1;
    *model = p;
    *mlen = (size_t)(comma - p);
    *id = comma + 1;
    *idlen = n - *mlen - 1;
    if (!model_name_ok(*model, *mlen) || *idlen == 0)
        return -1;
    for (i = 0; i < *idlen; i++) {
        char c = (*id)[i];
        if (!(c >= '0' && c <= '9'))
            dec = 0;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            hex = 0;
    }
    if (dec && *idlen <= 18 && !((*id)[0] == '0'))
        return 0;
    k = *idlen;
    return hex && k == 24 ? 0 : -1;
}

/* Whether model name p[0..n) is among the field's models. */
static int allowed(const eo_field *f, const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < f->nchoices; i++)
        if (strlen(f->choices[i]) == n && memcmp(f->choices[i], p, n) == 0)
            return 1;
    return 0;
}

static void model_list(const eo_field *f, char *buf, size_t cap)
{
    size_t i, o = 0;
    buf[0] = '\0';
    for (i = 0; i < f->nchoices && o + 1 < cap; i++) {
        int w = snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", f->choices[i]);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

/* A Properties value: one object of scalars. */
typedef struct props_check {
    int depth;
    const char *why;
} props_check;

static int pc_begin(void *ud, int array, int depth)
{
    props_check *c = ud;
    (void)depth;
    if (c->depth++ == 0 && !array)
        return 0;
    c->why = c->depth == 1 ? "a Properties value is an object of property values, got an array"
                           : "a property value is a string, number, boolean or null, not a "
                             "list or an object";
    return 1;
}

static int pc_end(void *ud, int array)
{
    props_check *c = ud;
    (void)array;
    c->depth--;
    return 0;
}

static int pc_scalar(props_check *c)
{
    if (c->depth == 0) {
        c->why = "a Properties value is an object of property values";
        return 1;
    }
    return 0;
}

static int pc_string(void *ud, const char *s, size_t n)
{
    (void)s;
    (void)n;
    return pc_scalar(ud);
}
static int pc_integer(void *ud, int64_t i)
{
    (void)i;
    return pc_scalar(ud);
}
static int pc_number(void *ud, double d)
{
    (void)d;
    return pc_scalar(ud);
}
static int pc_boolean(void *ud, int b)
{
    (void)b;
    return pc_scalar(ud);
}
static int pc_null(void *ud) { return pc_scalar(ud); }

static const eo_json_sink props_sink = {
    pc_begin, pc_end, NULL, pc_string, pc_integer, pc_number, pc_boolean, pc_null, NULL,
};

int eo_types__convert(const eo_field *f, const eo_value *in, eo_value *out,
                      eo_value_scratch *sc, int checks, eo_error *err)
{
    const char *mname = f->model ? f->model->name : "?";
    (void)sc;
    *out = *in;
    out->owned = 0;
    if (f->type == EO_FT_REFERENCE) {
        const char *model, *id;
        size_t mlen, idlen;
        char list[300];
        if (in->type != EO_VTEXT)
            return field_fail(err, EO_EINVAL, mname, f->name,
                              "expected a record or \"model,id\", got %s", eo_vtype_name(in->type));
        if (eo_reference__split(in->u.s.p, in->u.s.n, &model, &mlen, &id, &idlen) != 0)
            return field_fail(err, EO_EINVAL, mname, f->name,
                              "expected \"model,id\" (like \"res.partner,5\"; on MongoDB the id "
                              "is 24 hexadecimal digits), got '%.*s'",
                              in->u.s.n > 60 ? 60 : (int)in->u.s.n, in->u.s.p);
        if (checks && !allowed(f, model, mlen)) {
            model_list(f, list, sizeof list);
            return field_fail(err, EO_EINVAL, mname, f->name,
                              "model %.*s is not one this Reference may point to (%s)", (int)mlen,
                              model, list);
        }
        return EO_OK;
    }
    /* EO_FT_PROPERTIES */
    if (in->type == EO_VTEXT) {
        props_check c = { 0, NULL };
        eo_json_fail why;
        int r = eo_json__read(in->u.s.p, in->u.s.n, &props_sink, &c, &why);
        if (r == -2)
            return field_fail(err, EO_ENOMEM, mname, f->name, "out of memory");
        if (r == -1)
            return field_fail(err, EO_EINVAL, mname, f->name, "not valid JSON: %s (at byte %zu)",
                              why.why, why.at);
        if (r != 0)
            return field_fail(err, EO_EINVAL, mname, f->name, "%s", c.why);
        return EO_OK;
    }
    return field_fail(err, EO_EINVAL, mname, f->name,
                      "expected an object of property values, got %s", eo_vtype_name(in->type));
}
