/*
 * model.c - the schema registry: models, fields, name checks, resolution.
 *
 * It records what models look like and nothing else: it does not touch a
 * database (migrate.c does) and does not run Lua. Field order is
 * declaration order, with the implicit "id" first.
 */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>

#include "depends/depends_int.h"
#include "earnorm/depends.h"
#include "earnorm/model.h"
#include "embedded_int.h"
#include "internal.h"
#include "types/types_int.h"

struct eo_registry {
    eo_model **models;
    size_t nmodels, cap;
    eo_strmap by_name;
    unsigned version;
    eo_depgraph *deps;  /* built by eo_registry_resolve */
    unsigned deps_version; /* the version deps was built for */
    eo_registry *embedded; /* the sub-record types (embedded.c), or NULL */
};

static const char *const type_names[] = {
    "Id", "Char", "Text", "Integer", "Float", "Boolean", "Date", "Datetime",
    "Selection", "Json", "Decimal", "Binary", "Many2one", "One2many",
    "Many2many", "Html", "Monetary", "Reference", "Properties", "Embedded", "List",
};

const char *eo_ftype_name(eo_ftype t)
{
    if ((size_t)t < EO_ARRAY_SIZE(type_names))
        return type_names[t];
    return "?";
}

int eo_ftype_from_name(const char *name)
{
    size_t i;
    if (name == NULL)
        return -1;
    for (i = 0; i < EO_ARRAY_SIZE(type_names); i++)
        if (strcmp(type_names[i], name) == 0)
            return (int)i;
    return -1;
}

int eo_registry_new(eo_registry **out, eo_error *err)
{
    eo_registry *reg;
    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    if ((reg = eo_calloc(1, sizeof *reg)) == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory creating a registry");
    *out = reg;
    return EO_OK;
}

static void free_strv(char **v, size_t n)
{
    size_t i;
    if (v == NULL)
        return;
    for (i = 0; i < n; i++)
        eo_free(v[i]);
    eo_free(v);
}

static void field_free(eo_field *f)
{
    if (f == NULL)
        return;
    eo_free(f->name);
    eo_free(f->column);
    eo_free(f->string);
    eo_free(f->help);
    free_strv(f->choices, f->nchoices);
    eo_free(f->comodel_name);
    eo_free(f->inverse);
    eo_free(f->relation);
    eo_free(f->column1);
    eo_free(f->column2);
    eo_value_clear(&f->def);
    free_strv(f->depends, f->ndepends);
    eo_types__free(f);
    eo_free(f);
}

static void indexes_free(eo_model_index *v, size_t n)
{
    size_t i;
    for (i = 0; v && i < n; i++) {
        eo_free(v[i].name);
        eo_free(v[i].constraint);
        eo_free(v[i].message);
        eo_free(v[i].fields);
    }
    eo_free(v);
}

static void model_free(eo_model *m)
{
    size_t i;
    if (m == NULL)
        return;
    indexes_free(m->indexes, m->nindexes);
    for (i = 0; i < m->nfields; i++)
        field_free(m->fields[i]);
    eo_free(m->fields);
    for (i = 0; i < m->nchecks; i++) {
        free_strv(m->checks[i]->depends, m->checks[i]->ndepends);
        eo_free(m->checks[i]);
    }
    eo_free(m->checks);
    if (m->index_) {
        eo_strmap__free(m->index_);
        eo_free(m->index_);
    }
    eo_free(m->name);
    eo_free(m->table);
    eo_free(m->description);
    eo_free(m->order);
    eo_free(m->parent_name);
    eo_free(m->rec_name);
    eo_free(m);
}

void eo_registry_free(eo_registry *reg)
{
    size_t i;
    if (reg == NULL)
        return;
    eo_depgraph__free(reg, reg->deps);
    eo_registry_free(reg->embedded);
    for (i = 0; i < reg->nmodels; i++)
        model_free(reg->models[i]);
    eo_free(reg->models);
    eo_strmap__free(&reg->by_name);
    eo_free(reg);
}

static int valid_model_name(const char *s)
{
    int prev_dot = 1;
    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        if (*s == '.') {
            if (prev_dot)
                return 0;
            prev_dot = 1;
        } else if (islower((unsigned char)*s) || *s == '_' ||
                   (!prev_dot && isdigit((unsigned char)*s))) {
            prev_dot = 0;
        } else {
            return 0;
        }
    }
    return !prev_dot;
}

/* Field names become SQL identifiers and BSON keys: no '.', no '$', no quotes. */
static const char *bad_field_name(const char *s)
{
    const char *p;
    if (*s == '\0')
        return "a field name cannot be empty";
    if (strchr(s, '.'))
        return "'.' is not allowed in a field name (it separates relation paths)";
    if (s[0] == '$' || strchr(s, '$'))
        return "'$' is not allowed in a field name (MongoDB reserves it for operators)";
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return "a field name starts with a letter or '_'";
    for (p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return "a field name holds only letters, digits and '_'";
    if (strlen(s) > 60)
        return "a field name is at most 60 characters";
    return NULL;
}

static int add_field_raw(eo_model *m, eo_field *f, eo_error *err)
{
    eo_field **fields = eo_realloc(m->fields, (m->nfields + 1) * sizeof *fields);
    if (fields == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory adding field %s", f->name);
    m->fields = fields;
    if (eo_strmap__put(m->index_, f->name, strlen(f->name), f) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory adding field %s", f->name);
    f->index = (int)m->nfields;
    f->model = m;
    m->fields[m->nfields++] = f;
    m->registry->version++;
    return EO_OK;
}

/* The tables of the engine's own models, reserved against every other
 * model: a user model "earnorm_history" would read and forge the history.
 * (The engine's other tables, "earnorm-schema", hold a '-' that no model
 * name maps to.) */
static const struct { const char *table, *model; } reserved_tables[] = {
    { "earnorm_history", "earnorm.history" },
};

int eo_registry__check_table(const eo_registry *reg, const char *name, eo_error *err)
{
    char table[256];
    size_t i, n = strlen(name);
    if (n >= sizeof table)
        return EO_OK; /* the name check refuses it */
    for (i = 0; i <= n; i++)
        table[i] = name[i] == '.' ? '_' : name[i];
    for (i = 0; i < sizeof reserved_tables / sizeof reserved_tables[0]; i++) {
        if (strcmp(table, reserved_tables[i].table) == 0 &&
            strcmp(name, reserved_tables[i].model) != 0) {
            eo_error_set(err, EO_ECONFLICT,
                         "models %s (the engine's) and %s would share the table %s: "
                         "the table is reserved for the engine",
                         reserved_tables[i].model, name, table);
            eo_error_where(err, name, NULL);
            return EO_ECONFLICT;
        }
    }
    for (i = 0; reg && i < reg->nmodels; i++) {
        const eo_model *o = reg->models[i];
        if (strcmp(o->table, table) == 0 && strcmp(o->name, name) != 0) {
            eo_error_set(err, EO_ECONFLICT, "models %s and %s would share the table %s",
                         o->name, name, table);
            eo_error_where(err, name, NULL);
            return EO_ECONFLICT;
        }
    }
    return EO_OK;
}

int eo_registry_add_model(eo_model **out, eo_registry *reg, const char *name,
                          eo_error *err)
{
    eo_model *m = NULL;
    eo_field *id = NULL;
    char *p;
    int rc = EO_OK;

    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    EO_REQUIRE(reg);
    EO_REQUIRE(name);
    if (!valid_model_name(name)) {
        rc = eo_error_set(err, EO_EINVAL,
                          "invalid model name '%s': use lowercase words separated by dots, like \"res.partner\"",
                          name);
        eo_error_where(err, name, NULL);
        goto done;
    }
    if (eo_strmap__get(&reg->by_name, name, strlen(name)) != NULL) {
        rc = eo_error_set(err, EO_ECONFLICT, "model %s is already defined", name);
        eo_error_where(err, name, NULL);
        goto done;
    }
    if ((rc = eo_registry__check_table(reg, name, err)) != EO_OK)
        goto done;
    m = eo_calloc(1, sizeof *m);
    if (m == NULL)
        goto oom;
    m->registry = reg;
    m->name = eo_strdup(name);
    m->table = eo_strdup(name);
    m->description = eo_strdup(name);
    m->order = eo_strdup("id");
    m->parent_name = eo_strdup("parent_id");
    m->index_ = eo_calloc(1, sizeof(eo_strmap));
    id = eo_calloc(1, sizeof *id);
    if (!m->name || !m->table || !m->description || !m->order ||
        !m->parent_name || !m->index_ || !id)
        goto oom;
    for (p = m->table; *p; p++)
        if (*p == '.')
            *p = '_';
    id->name = eo_strdup("id");
    id->column = eo_strdup("id");
    id->string = eo_strdup("ID");
    if (!id->name || !id->column || !id->string)
        goto oom;
    id->type = EO_FT_ID;
    id->flags = EO_FF_STORED | EO_FF_READONLY | EO_FF_NOCOPY;
    if ((rc = add_field_raw(m, id, err)) != EO_OK)
        goto done;
    id = NULL;
    if (reg->nmodels == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 16;
        eo_model **v = eo_realloc(reg->models, cap * sizeof *v);
        if (v == NULL)
            goto oom;
        reg->models = v;
        reg->cap = cap;
    }
    if (eo_strmap__put(&reg->by_name, name, strlen(name), m) != EO_OK)
        goto oom;
    reg->models[reg->nmodels++] = m;
    reg->version++;
    *out = m;
    m = NULL;
    goto done;
oom:
    rc = eo_error_set(err, EO_ENOMEM, "out of memory defining model %s", name);
done:
    field_free(id);
    model_free(m);
    return rc;
}

int eo_registry__truncate(eo_registry *reg, size_t n, eo_error *err)
{
    size_t i;
    if (reg == NULL || n >= reg->nmodels)
        return EO_OK;
    for (i = n; i < reg->nmodels; i++) {
        model_free(reg->models[i]);
        reg->models[i] = NULL;
    }
    reg->nmodels = n;
    /* the name map has no delete: build it again from the models kept */
    eo_strmap__free(&reg->by_name);
    memset(&reg->by_name, 0, sizeof reg->by_name);
    for (i = 0; i < n; i++)
        if (eo_strmap__put(&reg->by_name, reg->models[i]->name, strlen(reg->models[i]->name),
                           reg->models[i]) != EO_OK)
            return eo_error_set(err, EO_ENOMEM, "out of memory rolling the model registry back");
    eo_depgraph__free(reg, reg->deps);
    reg->deps = NULL;
    reg->version++;
    return EO_OK;
}

eo_model *eo_registry_find(const eo_registry *reg, const char *name)
{
    if (reg == NULL || name == NULL)
        return NULL;
    return eo_strmap__get(&reg->by_name, name, strlen(name));
}

size_t eo_registry_count(const eo_registry *reg) { return reg ? reg->nmodels : 0; }
eo_model *eo_registry_at(const eo_registry *reg, size_t i)
{
    return reg && i < reg->nmodels ? reg->models[i] : NULL;
}
unsigned eo_registry_version(const eo_registry *reg) { return reg ? reg->version : 0; }

static int set_str(char **dst, const char *src)
{
    char *c;
    if (src == NULL)
        return EO_OK;
    c = eo_strdup(src);
    if (c == NULL)
        return EO_ENOMEM;
    eo_free(*dst);
    *dst = c;
    return EO_OK;
}

int eo_model_set(eo_model *m, const char *description, const char *order,
                 const char *parent_name, const char *rec_name, eo_error *err)
{
    EO_ENTER();
    EO_REQUIRE(m);
    if (set_str(&m->description, description) || set_str(&m->order, order) ||
        set_str(&m->parent_name, parent_name) || set_str(&m->rec_name, rec_name))
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    m->registry->version++;
    return EO_OK;
}

eo_field *eo_model_field(const eo_model *m, const char *name, size_t len)
{
    if (m == NULL || name == NULL)
        return NULL;
    return eo_strmap__get(m->index_, name, len);
}

static char **copy_strv(const char *const *v, size_t n)
{
    char **c;
    size_t i;
    if (n == 0)
        return NULL;
    c = eo_calloc(n, sizeof *c);
    if (c == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        if ((c[i] = eo_strdup(v[i])) == NULL) {
            free_strv(c, n);
            return NULL;
        }
    }
    return c;
}

static int field_error(eo_error *err, int code, const eo_model *m,
                       const char *field, const char *what)
{
    eo_error_set(err, code, "%s.%s: %s", m->name, field, what);
    eo_error_where(err, m->name, field);
    return code;
}

int eo_model_add_field(eo_field **out, eo_model *m, const eo_field_spec *spec,
                       eo_error *err)
{
    eo_field *f = NULL;
    const char *why;
    int rc = EO_OK, stored, added = 0;

    EO_ENTER();
    if (out)
        *out = NULL;
    EO_REQUIRE(m);
    EO_REQUIRE(spec);
    EO_REQUIRE(spec->name);
    if ((why = bad_field_name(spec->name)) != NULL)
        return field_error(err, EO_EINVAL, m, spec->name, why);
    if (eo_model_field(m, spec->name, strlen(spec->name)) != NULL)
        return field_error(err, EO_ECONFLICT, m, spec->name, "field defined twice");
    {
        /* SQL column names fold case (SQLite always, PostgreSQL unquoted),
         * BSON keys do not: refuse the pair on every backend alike */
        size_t i;
        for (i = 0; i < m->nfields; i++)
            if (strcasecmp(m->fields[i]->name, spec->name) == 0) {
                eo_error_set(err, EO_ECONFLICT, "%s: fields '%s' and '%s' differ only in case",
                             m->name, m->fields[i]->name, spec->name);
                eo_error_where(err, m->name, spec->name);
                return EO_ECONFLICT;
            }
    }
    if (spec->type <= EO_FT_ID || (size_t)spec->type >= EO_ARRAY_SIZE(type_names))
        return field_error(err, EO_EINVAL, m, spec->name, "unknown field type");
    if ((rc = eo_types__check_spec(m, spec, err)) != EO_OK)
        return rc;
    if ((why = eo_embedded__refused(m, spec)) != NULL)
        return field_error(err, EO_EINVAL, m, spec->name, why);
    if (spec->type == EO_FT_SELECTION && spec->nchoices == 0)
        return field_error(err, EO_EINVAL, m, spec->name,
                           "a Selection needs choices = { ... }");
    if ((spec->type == EO_FT_MANY2ONE || spec->type == EO_FT_ONE2MANY ||
         spec->type == EO_FT_MANY2MANY) &&
        (spec->comodel == NULL || *spec->comodel == '\0'))
        return field_error(err, EO_EINVAL, m, spec->name,
                           "a relational field needs the comodel name as its first argument");
    if (spec->type == EO_FT_ONE2MANY && (spec->inverse == NULL || !*spec->inverse))
        return field_error(err, EO_EINVAL, m, spec->name,
                           "a One2many needs the inverse Many2one field name as its second argument");
    if (eo_ftype_base(spec->type) == EO_FT_DECIMAL &&
        (spec->precision < 0 || spec->precision > 18 || spec->scale < 0 ||
         spec->scale > spec->precision))
        return field_error(err, EO_EINVAL, m, spec->name,
                           "digits must be { precision <= 18, scale <= precision }");
    if (spec->size < 0)
        return field_error(err, EO_EINVAL, m, spec->name, "size must be positive");
    if ((spec->flags & EO_FF_UNIQUE) &&
        (spec->type == EO_FT_ONE2MANY || spec->type == EO_FT_MANY2MANY))
        return field_error(err, EO_EINVAL, m, spec->name,
                           "unique applies to stored fields only");

    f = eo_calloc(1, sizeof *f);
    if (f == NULL)
        goto oom;
    f->type = spec->type;
    f->model = m; /* so conversion messages name the model; not yet added */
    f->flags = spec->flags & ~(EO_FF_STORED | EO_FF_ENGINE); /* model_auto.c sets those */
    stored = spec->type != EO_FT_ONE2MANY && spec->type != EO_FT_MANY2MANY &&
             (!(spec->flags & EO_FF_COMPUTED) || spec->store);
    if (stored)
        f->flags |= EO_FF_STORED;
    if ((spec->flags & EO_FF_COMPUTED) && !spec->store && !(spec->flags & EO_FF_INVERSE))
        f->flags |= EO_FF_READONLY;
    if (spec->type == EO_FT_BINARY)
        f->flags |= EO_FF_NOPREFETCH;
    if (spec->type == EO_FT_ONE2MANY)
        f->flags |= EO_FF_NOCOPY;
    if ((f->flags & EO_FF_TRACKED) && (why = eo_field__untrackable(f)) != NULL) {
        char what[300];
        snprintf(what, sizeof what, "a %s field cannot be tracked: %s",
                 eo_ftype_name(f->type), why);
        rc = field_error(err, EO_EINVAL, m, spec->name, what);
        goto done;
    }
    f->name = eo_strdup(spec->name);
    f->string = eo_strdup(spec->string ? spec->string : spec->name);
    if (!f->name || !f->string)
        goto oom;
    if (stored && (f->column = eo_strdup(spec->name)) == NULL)
        goto oom;
    if (spec->help && (f->help = eo_strdup(spec->help)) == NULL)
        goto oom;
    f->size = spec->size;
    f->min = spec->min;
    f->max = spec->max;
    if (spec->nchoices) {
        if ((f->choices = copy_strv(spec->choices, spec->nchoices)) == NULL)
            goto oom;
        f->nchoices = spec->nchoices;
    }
    f->precision = eo_ftype_base(spec->type) == EO_FT_DECIMAL && spec->precision == 0
                       ? 18 : spec->precision;
    f->scale = eo_ftype_base(spec->type) == EO_FT_DECIMAL && spec->precision == 0
                   ? 2 : spec->scale;
    if (eo_types__copy(f, spec) != EO_OK)
        goto oom;
    if (spec->comodel && (f->comodel_name = eo_strdup(spec->comodel)) == NULL)
        goto oom;
    if (spec->inverse && (f->inverse = eo_strdup(spec->inverse)) == NULL)
        goto oom;
    if (spec->relation && (f->relation = eo_strdup(spec->relation)) == NULL)
        goto oom;
    if (spec->column1 && (f->column1 = eo_strdup(spec->column1)) == NULL)
        goto oom;
    if (spec->column2 && (f->column2 = eo_strdup(spec->column2)) == NULL)
        goto oom;
    f->ondelete = spec->ondelete;
    if (spec->ndepends) {
        if ((f->depends = copy_strv(spec->depends, spec->ndepends)) == NULL)
            goto oom;
        f->ndepends = spec->ndepends;
    }
    if (spec->def && spec->def->type != EO_VNULL) {
        eo_value_scratch scratch;
        eo_value conv;
        memset(&scratch, 0, sizeof scratch);
        if ((rc = eo_field_convert(f, spec->def, &conv, &scratch, err)) != EO_OK) {
            /* the message already names the field; say it was the default */
            eo_error__prefix(err, "invalid default: ");
            goto done;
        }
        if (eo_value_copy(&f->def, &conv) != EO_OK)
            goto oom;
        f->flags |= EO_FF_DEFAULT;
    }
    if ((rc = add_field_raw(m, f, err)) != EO_OK)
        goto done;
    added = 1;
    if (m->rec_name == NULL && strcmp(f->name, "name") == 0 &&
        (m->rec_name = eo_strdup("name")) == NULL)
        goto oom;
    if (out)
        *out = f;
    f = NULL;
    goto done;
oom:
    rc = field_error(err, EO_ENOMEM, m, spec->name, "out of memory");
done:
    if (f && !added)
        field_free(f);
    return rc;
}

/* A constraint name becomes part of an index name: letters, digits, '_'. */
static int plain_name(const char *s)
{
    const char *p;
    if (s == NULL || *s == '\0' || strlen(s) > 40 || isdigit((unsigned char)*s))
        return 0;
    for (p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return 0;
    return 1;
}

int eo_model_set_indexes(eo_model *m, const eo_index_spec *specs, size_t n, eo_error *err)
{
    eo_model_index *v = NULL;
    size_t i, k;
    int rc = EO_OK;
    EO_ENTER();
    EO_REQUIRE(m);
    if (n > 0)
        EO_REQUIRE(specs);
    if (n > 0 && (v = eo_calloc(n, sizeof *v)) == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory setting the indexes of %s", m->name);
    for (i = 0; i < n && rc == EO_OK; i++) {
        const eo_index_spec *s = &specs[i];
        eo_buf b = EO_BUF_INIT;
        if (s->nfields == 0 || s->nfields > 32) {
            rc = eo_error_set(err, EO_EINVAL, "%s: an index takes 1 to 32 fields", m->name);
            break;
        }
        if (s->unique && !plain_name(s->constraint)) {
            rc = eo_error_set(err, EO_EINVAL,
                              "%s: a unique constraint needs a name of letters, digits and '_'",
                              m->name);
            break;
        }
        if ((v[i].fields = eo_calloc(s->nfields, sizeof *v[i].fields)) == NULL)
            goto oom;
        v[i].nfields = s->nfields;
        v[i].unique = s->unique != 0;
        eo_buf__puts(&b, m->table);
        eo_buf__puts(&b, "_");
        if (s->constraint) {
            eo_buf__puts(&b, "_");
            eo_buf__puts(&b, s->constraint);
        }
        for (k = 0; k < s->nfields; k++) {
            eo_field *f = s->fields[k] ? eo_model_field(m, s->fields[k], strlen(s->fields[k]))
                                       : NULL;
            if (f == NULL || !(f->flags & EO_FF_STORED) || f->type == EO_FT_ID) {
                rc = eo_error_set(err, EO_EINVAL, "%s: index field '%s' is not a stored field",
                                  m->name, s->fields[k] ? s->fields[k] : "(null)");
                eo_error_where(err, m->name, s->fields[k]);
                break;
            }
            v[i].fields[k] = f;
            if (!s->constraint) {
                eo_buf__putc(&b, '_');
                eo_buf__puts(&b, f->column);
            }
        }
        if (rc == EO_OK) {
            eo_buf__puts(&b, s->constraint ? "_ckey" : "_cidx");
            if (!b.oom && b.len > 63) {
                /* identifiers are at most 63 bytes in PostgreSQL: keep a
                 * prefix and a hash of the whole name */
                uint32_t h = 2166136261u;
                size_t z;
                char tail[16];
                for (z = 0; z < b.len; z++)
                    h = (h ^ (unsigned char)b.p[z]) * 16777619u;
                snprintf(tail, sizeof tail, "_%08x%s", (unsigned)h, s->constraint ? "_ckey" : "_cidx");
                b.len = 63 - strlen(tail);
                b.p[b.len] = '\0';
                eo_buf__puts(&b, tail);
            }
            if (b.oom || (v[i].name = eo_strdup(b.p)) == NULL ||
                (s->constraint && (v[i].constraint = eo_strdup(s->constraint)) == NULL) ||
                (s->message && (v[i].message = eo_strdup(s->message)) == NULL)) {
                eo_buf__free(&b);
                goto oom;
            }
        }
        eo_buf__free(&b);
    }
    if (rc != EO_OK) {
        indexes_free(v, n);
        return rc;
    }
    indexes_free(m->indexes, m->nindexes);
    m->indexes = v;
    m->nindexes = n;
    m->registry->version++;
    return EO_OK;
oom:
    indexes_free(v, n);
    return eo_error_set(err, EO_ENOMEM, "out of memory setting the indexes of %s", m->name);
}

int eo_model__our_index(const eo_model *m, const char *name)
{
    size_t t = strlen(m->table), n = strlen(name);
    if (n < t + 7 || strncmp(name, m->table, t) != 0 || name[t] != '_' || name[t + 1] != '_')
        return 0;
    return strcmp(name + n - 5, "_cidx") == 0 || strcmp(name + n - 5, "_ckey") == 0;
}

const eo_model_index *eo_model__index_named(const eo_model *m, const char *name)
{
    size_t i;
    for (i = 0; m && name && i < m->nindexes; i++)
        if (strcmp(m->indexes[i].name, name) == 0)
            return &m->indexes[i];
    return NULL;
}

void eo_model__describe_values(eo_buf *b, const eo_model_index *ix, const eo_field *const *cols,
                               const eo_value *vals, size_t ncols)
{
    size_t k, i, shown = 0;
    for (k = 0; k < ix->nfields; k++) {
        for (i = 0; i < ncols; i++) {
            const eo_value *v = &vals[i];
            if (cols[i] != ix->fields[k])
                continue;
            eo_buf__puts(b, shown++ ? ", " : "");
            eo_buf__puts(b, ix->fields[k]->name);
            eo_buf__puts(b, " = ");
            if (v->type == EO_VTEXT)
                eo_buf__printf(b, "'%.*s'", (int)(v->u.s.n > 60 ? 60 : v->u.s.n), v->u.s.p);
            else if (v->type == EO_VINT)
                eo_buf__put_int(b, (int64_t)v->u.i);
            else if (v->type == EO_VFLOAT)
                eo_buf__printf(b, "%g", v->u.f);
            else if (v->type == EO_VBOOL)
                eo_buf__puts(b, v->u.b ? "true" : "false");
            else if (v->type == EO_VNULL)
                eo_buf__puts(b, "null");
            else
                eo_buf__puts(b, "(binary)");
        }
    }
}

int eo_model__index_conflict(eo_error *err, const eo_model *m, const eo_model_index *ix,
                             const char *record)
{
    char fields[300];
    size_t k, o = 0;
    fields[0] = '\0';
    for (k = 0; k < ix->nfields && o < sizeof fields; k++)
        o += (size_t)snprintf(fields + o, sizeof fields - o, "%s%s", k ? ", " : "",
                              ix->fields[k]->name);
    eo_error_set(err, EO_ECONFLICT, "%s: constraint %s: %s (unique(%s)%s%s)", m->name,
                 ix->constraint ? ix->constraint : ix->name, ix->message ? ix->message : "duplicate",
                 fields, record && *record ? ": " : "", record ? record : "");
    eo_error_where(err, m->name, ix->nfields == 1 ? ix->fields[0]->name : NULL);
    return EO_ECONFLICT;
}

static int junction(eo_registry *reg, eo_model *m, eo_field *f, eo_error *err);

static int resolve_field(eo_registry *reg, eo_model *m, eo_field *f, eo_error *err)
{
    eo_field *inv;
    char buf[256];
    int rc;
    if (f->type == EO_FT_EMBEDDED || f->type == EO_FT_LIST)
        return eo_embedded__resolve(reg, m, f, err);
    if ((rc = eo_types__resolve(reg, m, f, err)) != EO_OK)
        return rc;
    if (f->comodel_name == NULL)
        return EO_OK;
    f->comodel = eo_registry_find(reg, f->comodel_name);
    if (f->comodel == NULL) {
        eo_error_set(err, EO_ENOTFOUND,
                     "%s.%s refers to model %s, which is not defined",
                     m->name, f->name, f->comodel_name);
        eo_error_where(err, m->name, f->name);
        return EO_ENOTFOUND;
    }
    if (f->type == EO_FT_ONE2MANY) {
        inv = eo_model_field(f->comodel, f->inverse, strlen(f->inverse));
        if (inv == NULL || inv->type != EO_FT_MANY2ONE || inv->comodel_name == NULL ||
            strcmp(inv->comodel_name, m->name) != 0) {
            eo_error_set(err, EO_ENOTFOUND,
                         "%s.%s: inverse field %s.%s must be a Many2one to %s",
                         m->name, f->name, f->comodel_name, f->inverse, m->name);
            eo_error_where(err, m->name, f->name);
            return EO_ENOTFOUND;
        }
    }
    if (f->type == EO_FT_MANY2MANY) {
        /* junction named from both tables in a fixed (sorted) order */
        if (f->relation == NULL) {
            const char *a = m->table, *b = f->comodel->table;
            if (strcmp(a, b) > 0) {
                const char *t = a;
                a = b;
                b = t;
            }
            snprintf(buf, sizeof buf, "%s_%s_rel", a, b);
            if ((f->relation = eo_strdup(buf)) == NULL)
                return eo_error_set(err, EO_ENOMEM, "out of memory");
        }
        if (f->column1 == NULL) {
            snprintf(buf, sizeof buf, "%s_id", m->table);
            if ((f->column1 = eo_strdup(buf)) == NULL)
                return eo_error_set(err, EO_ENOMEM, "out of memory");
        }
        if (f->column2 == NULL) {
            if (f->comodel == m)
                snprintf(buf, sizeof buf, "%s_id2", m->table);
            else
                snprintf(buf, sizeof buf, "%s_id", f->comodel->table);
            if ((f->column2 = eo_strdup(buf)) == NULL)
                return eo_error_set(err, EO_ENOMEM, "out of memory");
        }
        if (f->junction == NULL)
            return junction(reg, m, f, err);
    }
    return EO_OK;
}

/* The junction model of a Many2many field, declared on first need. */
static int junction(eo_registry *reg, eo_model *m, eo_field *f, eo_error *err)
{
    eo_model *j = eo_registry_find(reg, f->relation);
    eo_field_spec s;
    int rc;
    if (j != NULL) {
        /* shared with the field of the other side: same two columns */
        const eo_field *a, *b;
        if (!j->junction || j->nfields != 3) {
            eo_error_set(err, EO_ECONFLICT,
                         "%s.%s: relation %s is the name of a model, not of a junction table",
                         m->name, f->name, f->relation);
            eo_error_where(err, m->name, f->name);
            return EO_ECONFLICT;
        }
        a = eo_model_field(j, f->column1, strlen(f->column1));
        b = eo_model_field(j, f->column2, strlen(f->column2));
        if (a == NULL || b == NULL || a == b || a->comodel_name == NULL ||
            b->comodel_name == NULL || strcmp(a->comodel_name, m->name) != 0 ||
            strcmp(b->comodel_name, f->comodel->name) != 0) {
            eo_error_set(err, EO_ECONFLICT,
                         "%s.%s: junction %s has columns (%s, %s) that do not match %s and %s",
                         m->name, f->name, f->relation, j->fields[1]->name, j->fields[2]->name,
                         f->column1, f->column2);
            eo_error_where(err, m->name, f->name);
            return EO_ECONFLICT;
        }
        f->junction = j;
        return EO_OK;
    }
    if (strcmp(f->column1, f->column2) == 0) {
        eo_error_set(err, EO_EINVAL, "%s.%s: column1 and column2 must differ", m->name, f->name);
        eo_error_where(err, m->name, f->name);
        return EO_EINVAL;
    }
    if ((rc = eo_registry_add_model(&j, reg, f->relation, err)) != EO_OK)
        return rc;
    j->junction = 1;
    memset(&s, 0, sizeof s);
    s.type = EO_FT_MANY2ONE;
    s.flags = EO_FF_REQUIRED | EO_FF_INDEX;
    s.ondelete = EO_ONDELETE_CASCADE;
    s.name = f->column1;
    s.comodel = m->name;
    if ((rc = eo_model_add_field(NULL, j, &s, err)) != EO_OK)
        return rc;
    s.name = f->column2;
    s.comodel = f->comodel->name;
    if ((rc = eo_model_add_field(NULL, j, &s, err)) != EO_OK)
        return rc;
    j->fields[1]->comodel = m;
    j->fields[2]->comodel = f->comodel;
    f->junction = j;
    return EO_OK;
}

eo_registry **eo_registry__embedded(eo_registry *reg) { return &reg->embedded; }

int eo_registry_resolve(eo_registry *reg, eo_error *err)
{
    size_t i, j;
    int rc;
    EO_ENTER();
    EO_REQUIRE(reg);
    for (i = 0; i < reg->nmodels; i++) {
        eo_model *m = reg->models[i];
        for (j = 0; j < m->nfields; j++)
            if ((rc = resolve_field(reg, m, m->fields[j], err)) != EO_OK)
                return rc;
    }
    /* the relations are known: the dependency graph can be built (again,
     * when something was declared since) */
    if (reg->deps && reg->deps_version == reg->version)
        return EO_OK;
    eo_depgraph__free(reg, reg->deps);
    reg->deps = NULL;
    if ((rc = eo_depgraph__build(reg, &reg->deps, err)) != EO_OK)
        return rc;
    reg->deps_version = reg->version;
    return EO_OK;
}

int eo_model_add_check(eo_check **out, eo_model *m, const char *const *depends, size_t ndepends,
                       intptr_t binding_ref, eo_error *err)
{
    eo_check *c, **grown;
    size_t i;
    EO_ENTER();
    if (out)
        *out = NULL;
    EO_REQUIRE(m);
    EO_REQUIRE_N(depends, ndepends);
    for (i = 0; i < ndepends; i++)
        if (depends[i] == NULL)
            return eo_error_set(err, EO_EINVAL, "eo_model_add_check: depends[%zu] is NULL", i);
    if ((c = eo_calloc(1, sizeof *c)) == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    if (ndepends && (c->depends = copy_strv(depends, ndepends)) == NULL) {
        eo_free(c);
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    grown = eo_realloc(m->checks, (m->nchecks + 1) * sizeof *grown);
    if (grown == NULL) {
        free_strv(c->depends, ndepends);
        eo_free(c);
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    m->checks = grown;
    c->model = m;
    c->index = m->nchecks;
    c->ndepends = ndepends;
    c->binding_ref = binding_ref;
    m->checks[m->nchecks++] = c;
    if (m->registry)
        eo_registry__touch(m->registry);
    if (out)
        *out = c;
    return EO_OK;
}

void eo_registry__touch(eo_registry *reg) { reg->version++; }

eo_depgraph *eo_registry__deps(const eo_registry *reg) { return reg ? reg->deps : NULL; }

const eo_field *eo_model_active_field(const eo_model *m)
{
    const eo_field *f = eo_model_field(m, "active", 6);
    return f && f->type == EO_FT_BOOLEAN && (f->flags & EO_FF_STORED) ? f : NULL;
}
