/*
 * model_auto.c - declaring the fields the engine maintains itself: record
 * metadata (create_date, write_date), the optimistic-locking version, and
 * which fields are tracked in the history model.
 *
 * It only marks the metadata. What the flags mean at run time is in
 * orm/version.c (dates and versions in create and write) and
 * orm/history.c (history rows); migrate creates the columns as for any
 * other field.
 */
#include <stdio.h>

#include "earnorm/model.h"
#include "internal.h"

static int taken(eo_error *err, const eo_model *m, const char *name, const char *why)
{
    eo_error_set(err, EO_ECONFLICT, "%s.%s: %s", m->name, name, why);
    eo_error_where(err, m->name, name);
    return EO_ECONFLICT;
}

static int add_auto(eo_model *m, const char *name, const char *label, eo_ftype type,
                    unsigned flag, eo_error *err)
{
    eo_field_spec s;
    eo_field *f = NULL;
    int rc;
    memset(&s, 0, sizeof s);
    s.name = name;
    s.type = type;
    s.string = label;
    s.flags = EO_FF_READONLY | EO_FF_NOCOPY;
    if ((rc = eo_model_add_field(&f, m, &s, err)) != EO_OK)
        return rc;
    f->flags |= flag;
    return EO_OK;
}

int eo_model_log_access(eo_model *m, eo_error *err)
{
    static const struct { const char *name, *label; unsigned flag; } log[] = {
        { "create_date", "Created on", EO_FF_CREATE_DATE },
        { "write_date", "Last Updated on", EO_FF_WRITE_DATE },
    };
    size_t i;
    int rc;
    EO_ENTER();
    EO_REQUIRE(m);
    for (i = 0; i < EO_ARRAY_SIZE(log); i++) {
        const eo_field *f = eo_model_field(m, log[i].name, strlen(log[i].name));
        if (f && (f->flags & log[i].flag))
            continue;
        if (f)
            return taken(err, m, log[i].name,
                         "the engine maintains this field on every model (record metadata); "
                         "rename the field, or set _log_access = false on the model");
        if ((rc = add_auto(m, log[i].name, log[i].label, EO_FT_DATETIME, log[i].flag, err)) !=
            EO_OK)
            return rc;
    }
    return EO_OK;
}

int eo_model_versioned(eo_model *m, const char *name, eo_error *err)
{
    const eo_field *f;
    size_t i;
    EO_ENTER();
    EO_REQUIRE(m);
    if (name == NULL)
        name = "version";
    for (i = 1; i < m->nfields; i++)
        if (m->fields[i]->flags & EO_FF_VERSION) {
            if (strcmp(m->fields[i]->name, name) == 0)
                return EO_OK;
            return taken(err, m, name, "the model has a version field already");
        }
    if ((f = eo_model_field(m, name, strlen(name))) != NULL)
        return taken(err, m, name,
                     "_version needs this name for the version field; name another one "
                     "(_version = \"rev\") or rename the field");
    return add_auto(m, name, "Version", EO_FT_INTEGER, EO_FF_VERSION, err);
}

/* Why f cannot be tracked, or NULL. */
const char *eo_field__untrackable(const eo_field *f)
{
    if (f->type == EO_FT_ID)
        return "the id never changes";
    if (f->type == EO_FT_ONE2MANY || f->type == EO_FT_MANY2MANY)
        return "x2many values change through commands, which history does not record; "
               "track the Many2one on the other side (One2many) instead";
    if (f->flags & EO_FF_COMPUTED)
        return "it is computed: its changes follow from the fields it depends on; track those";
    if (f->flags & EO_FF_ENGINE)
        return "the engine maintains it (every history row has its date)";
    return NULL;
}

int eo_model_track(eo_model *m, const char *name, eo_error *err)
{
    eo_field *f;
    const char *why;
    EO_ENTER();
    EO_REQUIRE(m);
    EO_REQUIRE(name);
    if ((f = eo_model_field(m, name, strlen(name))) == NULL) {
        eo_error_set(err, EO_ENOTFOUND, "%s: cannot track unknown field '%s'", m->name, name);
        eo_error_where(err, m->name, name);
        return EO_ENOTFOUND;
    }
    if ((why = eo_field__untrackable(f)) != NULL) {
        eo_error_set(err, EO_EINVAL, "%s.%s (%s) cannot be tracked: %s", m->name, f->name,
                     eo_ftype_name(f->type), why);
        eo_error_where(err, m->name, f->name);
        return EO_EINVAL;
    }
    f->flags |= EO_FF_TRACKED;
    return EO_OK;
}
