/*
 * model.c - turning Lua field declarations into C metadata.
 *
 * core.define_model(name, attrs, fields, class) reads the declaration
 * tables written by earnorm/model.lua and registers an eo_model. A
 * declaration is checked whole in a scratch registry first, so a mistake
 * in the fifth field leaves no half-declared model behind.
 *
 * It also finds and reads model files (core.list_lua_files,
 * core.load_model_file). A models directory may be writable by whoever
 * writes the models, so only regular files in it are read: a FIFO would
 * block the load forever, and a symbolic link could make the loader parse
 * any file the process can read (/proc/self/environ) and quote it in a
 * syntax error. Entries of a directory are checked with lstat and opened
 * with O_NOFOLLOW | O_NONBLOCK, then checked again with fstat (a file
 * swapped in between is caught). The path the host gives is followed.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eo_lua.h"

static const char *const options[] = {
    "type", "_seq", "string", "help", "required", "readonly", "index", "unique",
    "default", "compute", "depends", "store", "copy", "prefetch", "size", "min", "max",
    "digits", "choices", "comodel", "inverse", "relation", "column1", "column2",
    "ondelete", "single", "recursive", "search", "related", "tracking", "embedded",
    "sanitize", "currency_field", "selection", "definition", "definition_field", NULL,
};

/* Options that only some types take: on another type they would do
 * nothing, so they are refused (a One2many's inverse on a Char, `size` on
 * an Integer). */
#define TY(x) (1u << EO_FT_##x)
static const struct {
    const char *name;
    unsigned types;
} typed_options[] = {
    { "size", TY(CHAR) },
    { "min", TY(INTEGER) | TY(FLOAT) | TY(DECIMAL) | TY(MONETARY) },
    { "max", TY(INTEGER) | TY(FLOAT) | TY(DECIMAL) | TY(MONETARY) },
    { "digits", TY(DECIMAL) | TY(MONETARY) },
    { "choices", TY(SELECTION) },
    { "comodel", TY(MANY2ONE) | TY(ONE2MANY) | TY(MANY2MANY) },
    { "embedded", TY(EMBEDDED) | TY(LIST) },
    { "ondelete", TY(MANY2ONE) },
    { "inverse", TY(ONE2MANY) },
    { "single", TY(ONE2MANY) },
    { "relation", TY(MANY2MANY) },
    { "column1", TY(MANY2MANY) },
    { "column2", TY(MANY2MANY) },
    { "sanitize", TY(HTML) },
    { "currency_field", TY(MONETARY) },
    { "selection", TY(REFERENCE) },
    { "definition", TY(PROPERTIES) },
    { "definition_field", TY(PROPERTIES) },
};

typedef struct fspec {
    eo_field_spec s;
    const char *choices[128];
    const char *depends[64];
    eo_value def;
} fspec;

static int bad(eo_error *err, const char *model, const char *field, const char *fmt, const char *a)
{
    char what[300];
    snprintf(what, sizeof what, fmt, a);
    eo_error_set(err, EO_EINVAL, "%s.%s: %s", model, field, what);
    eo_error_where(err, model, field);
    return EO_EINVAL;
}

/* The known option nearest to `k` by edit distance, or NULL when none is
 * close enough to be the one meant. */
static const char *closest_option(const char *k)
{
    const char *best = NULL;
    size_t n = strlen(k), bestd = n / 2 + 1, i;
    if (n > 30)
        return NULL;
    for (i = 0; options[i]; i++) {
        const char *o = options[i];
        size_t m = strlen(o), a, b, row[32], prev, tmp;
        if (m > 30 || o[0] == '_')
            continue;
        for (b = 0; b <= m; b++)
            row[b] = b;
        for (a = 1; a <= n; a++) {
            prev = row[0];
            row[0] = a;
            for (b = 1; b <= m; b++) {
                size_t best3 = prev + (k[a - 1] != o[b - 1]);
                if (row[b] + 1 < best3)
                    best3 = row[b] + 1;
                if (row[b - 1] + 1 < best3)
                    best3 = row[b - 1] + 1;
                tmp = row[b];
                row[b] = best3;
                prev = tmp;
            }
        }
        if (row[m] < bestd) {
            bestd = row[m];
            best = o;
        }
    }
    return best;
}

static int opt_bool(lua_State *L, int t, const char *key)
{
    int r;
    lua_getfield(L, t, key);
    r = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return r;
}

/* Read one declaration (table at t) into fs; strings stay on the Lua stack
 * via the declaration table itself, which the caller keeps alive. */
static int read_spec(lua_State *L, int t, const char *model, const char *name, fspec *fs,
                     eo_lua_scratch *scratch, eo_error *err)
{
    const char *type;
    int ft, i, computed;
    memset(fs, 0, sizeof *fs);
    fs->s.name = name;
    /* every key must be a known option */
    lua_pushnil(L);
    while (lua_next(L, t)) {
        int ok = 0;
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING)
            for (i = 0; options[i]; i++)
                if (strcmp(options[i], lua_tostring(L, -1)) == 0)
                    ok = 1;
        if (!ok) {
            char what[200];
            const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
            const char *near = k ? closest_option(k) : NULL;
            int rc;
            if (k == NULL)
                snprintf(what, sizeof what, "an option key must be a name, got a %s",
                         luaL_typename(L, -1));
            else if (near)
                snprintf(what, sizeof what, "unknown option '%s' (did you mean '%s'?)", k, near);
            else
                snprintf(what, sizeof what, "unknown option '%s'", k);
            rc = bad(err, model, name, "%s", what);
            lua_pop(L, 1);
            return rc;
        }
    }
    lua_getfield(L, t, "type");
    type = lua_tostring(L, -1);
    lua_pop(L, 1);
    ft = type ? eo_ftype_from_name(type) : -1;
    if (ft <= 0)
        return bad(err, model, name, "unknown field type %s", type ? type : "(none)");
    fs->s.type = (eo_ftype)ft;
    lua_getfield(L, t, "compute");
    computed = !lua_isnil(L, -1);
    lua_pop(L, 1);
    for (i = 0; i < (int)(sizeof typed_options / sizeof typed_options[0]); i++) {
        char types[160];
        size_t o = 0;
        int k, nt = 0, seen = 0;
        if (typed_options[i].types & (1u << ft))
            continue;
        /* a computed field's inverse is the method that stores it */
        if (computed && strcmp(typed_options[i].name, "inverse") == 0)
            continue;
        lua_getfield(L, t, typed_options[i].name);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            continue;
        }
        lua_pop(L, 1);
        for (k = 0; k < 32; k++)
            nt += (typed_options[i].types >> k) & 1;
        types[0] = '\0';
        for (k = 0; k < 32 && o < sizeof types; k++) {
            if (!((typed_options[i].types >> k) & 1))
                continue;
            seen++;
            o += (size_t)snprintf(types + o, sizeof types - o, "%s%s",
                                  seen == 1 ? "" : seen == nt ? " and " : ", ",
                                  eo_ftype_name((eo_ftype)k));
        }
        {
            char what[400]; /* the longest text (90) + types (160) + a type name */
            if (strcmp(typed_options[i].name, "inverse") == 0)
                /* most often a compute = left out, not a wrong type */
                snprintf(what, sizeof what, "option 'inverse' applies to computed fields (give "
                         "compute =) and %s fields, not to a plain %s", types, type);
            else
                snprintf(what, sizeof what, "option '%s' applies to %s fields, not %s",
                         typed_options[i].name, types, type);
            eo_error_set(err, EO_EINVAL, "%s.%s: %s", model, name, what);
            eo_error_where(err, model, name);
            return EO_EINVAL;
        }
    }
    if (opt_bool(L, t, "required"))
        fs->s.flags |= EO_FF_REQUIRED;
    if (opt_bool(L, t, "unique"))
        fs->s.flags |= EO_FF_UNIQUE;
    if (opt_bool(L, t, "index"))
        fs->s.flags |= EO_FF_INDEX;
    if (opt_bool(L, t, "readonly"))
        fs->s.flags |= EO_FF_READONLY;
    if (opt_bool(L, t, "single"))
        fs->s.flags |= EO_FF_SINGLE;
    if (opt_bool(L, t, "tracking"))
        fs->s.flags |= EO_FF_TRACKED; /* eo_model_add_field refuses what cannot be tracked */
    fs->s.store = opt_bool(L, t, "store");
    lua_getfield(L, t, "copy");
    if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1))
        fs->s.flags |= EO_FF_NOCOPY;
    lua_pop(L, 1);
    lua_getfield(L, t, "prefetch");
    if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1))
        fs->s.flags |= EO_FF_NOPREFETCH;
    lua_pop(L, 1);

    lua_getfield(L, t, "string");
    fs->s.string = lua_tostring(L, -1);
    lua_getfield(L, t, "help");
    fs->s.help = lua_tostring(L, -1);
    lua_getfield(L, t, "comodel");
    fs->s.comodel = lua_tostring(L, -1);
    lua_getfield(L, t, "inverse");
    fs->s.inverse = ft == EO_FT_ONE2MANY ? lua_tostring(L, -1) : NULL;
    lua_getfield(L, t, "relation");
    fs->s.relation = lua_tostring(L, -1);
    lua_getfield(L, t, "column1");
    fs->s.column1 = lua_tostring(L, -1);
    lua_getfield(L, t, "column2");
    fs->s.column2 = lua_tostring(L, -1);
    lua_pop(L, 7); /* the strings live on in the declaration table */
    if (ft == EO_FT_EMBEDDED || ft == EO_FT_LIST) {
        /* the sub-record type's name goes where a relation's comodel does */
        lua_getfield(L, t, "embedded");
        fs->s.comodel = lua_tostring(L, -1);
        lua_pop(L, 1);
    }

    lua_getfield(L, t, "size");
    if (!lua_isnil(L, -1)) {
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0) {
            lua_pop(L, 1);
            return bad(err, model, name, "size must be a positive integer%s", "");
        }
        fs->s.size = (int)lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    lua_getfield(L, t, "min");
    if (!lua_isnil(L, -1)) {
        if (!lua_isnumber(L, -1)) {
            lua_pop(L, 1);
            return bad(err, model, name, "min must be a number%s", "");
        }
        fs->s.min = lua_tonumber(L, -1);
        fs->s.flags |= EO_FF_HAS_MIN;
    }
    lua_pop(L, 1);
    lua_getfield(L, t, "max");
    if (!lua_isnil(L, -1)) {
        if (!lua_isnumber(L, -1)) {
            lua_pop(L, 1);
            return bad(err, model, name, "max must be a number%s", "");
        }
        fs->s.max = lua_tonumber(L, -1);
        fs->s.flags |= EO_FF_HAS_MAX;
    }
    lua_pop(L, 1);
    lua_getfield(L, t, "digits");
    if (lua_istable(L, -1)) {
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        if (!lua_isinteger(L, -2) || !lua_isinteger(L, -1)) {
            lua_pop(L, 3);
            return bad(err, model, name, "digits must be { precision, scale }%s", "");
        }
        fs->s.precision = (int)lua_tointeger(L, -2);
        fs->s.scale = (int)lua_tointeger(L, -1);
        if (fs->s.precision <= 0) {
            lua_pop(L, 3);
            return bad(err, model, name, "digits must be { precision > 0, scale }%s", "");
        }
        lua_pop(L, 2);
    } else if (!lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return bad(err, model, name, "digits must be { precision, scale }%s", "");
    }
    lua_pop(L, 1);
    lua_getfield(L, t, "choices");
    if (lua_istable(L, -1)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1), k;
        if (n > (lua_Integer)(sizeof fs->choices / sizeof fs->choices[0])) {
            lua_pop(L, 1);
            return bad(err, model, name, "too many choices%s", "");
        }
        for (k = 1; k <= n; k++) {
            lua_rawgeti(L, -1, k);
            if (lua_istable(L, -1)) { /* { value, label } as in Odoo */
                lua_rawgeti(L, -1, 1);
                lua_replace(L, -2);
            }
            if (lua_type(L, -1) != LUA_TSTRING) {
                lua_pop(L, 2);
                return bad(err, model, name, "choices must be strings%s", "");
            }
            /* the string stays reachable through the declaration (the
             * registry copies it); the { value, label } pair is left as
             * written, fields_get reads its label */
            fs->choices[k - 1] = lua_tostring(L, -1);
            lua_pop(L, 1);
        }
        fs->s.choices = fs->choices;
        fs->s.nchoices = (size_t)n;
    } else if (!lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return bad(err, model, name, "choices must be a list%s", "");
    }
    lua_pop(L, 1);
    if ((i = eo_lua__type_options(L, t, model, name, &fs->s, fs->choices,
                                  sizeof fs->choices / sizeof fs->choices[0], err)) != EO_OK)
        return i;
    lua_getfield(L, t, "depends");
    if (lua_type(L, -1) == LUA_TSTRING) {
        fs->depends[0] = lua_tostring(L, -1);
        fs->s.depends = fs->depends;
        fs->s.ndepends = 1;
    } else if (lua_istable(L, -1)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1), k;
        if (n > 64) {
            lua_pop(L, 1);
            return bad(err, model, name, "too many depends%s", "");
        }
        for (k = 1; k <= n; k++) {
            lua_rawgeti(L, -1, k);
            if (lua_type(L, -1) != LUA_TSTRING) {
                lua_pop(L, 2);
                return bad(err, model, name, "depends must be field names%s", "");
            }
            fs->depends[k - 1] = lua_tostring(L, -1);
            lua_pop(L, 1);
        }
        fs->s.depends = fs->depends;
        fs->s.ndepends = (size_t)n;
    }
    lua_pop(L, 1);
    lua_getfield(L, t, "compute");
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TFUNCTION) {
            lua_pop(L, 1);
            return bad(err, model, name, "compute must be a method name or a function%s", "");
        }
        fs->s.flags |= EO_FF_COMPUTED;
    }
    lua_pop(L, 1);
    if (opt_bool(L, t, "recursive")) {
        if (!(fs->s.flags & EO_FF_COMPUTED))
            return bad(err, model, name,
                       "recursive applies to computed fields (it lets one depend on itself through a relation)%s",
                       "");
        fs->s.flags |= EO_FF_RECURSIVE;
    }
    if (fs->s.ndepends && !(fs->s.flags & EO_FF_COMPUTED))
        return bad(err, model, name, "depends applies to computed fields (give compute = ...)%s", "");
    if (computed && ft != EO_FT_ONE2MANY) {
        lua_getfield(L, t, "inverse");
        if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TFUNCTION) {
            fs->s.flags |= EO_FF_INVERSE;
        } else if (!lua_isnil(L, -1)) {
            lua_pop(L, 1);
            return bad(err, model, name, "inverse must be a method name or a function%s", "");
        }
        lua_pop(L, 1);
    }
    lua_getfield(L, t, "search");
    if (!lua_isnil(L, -1)) {
        int ok = lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TFUNCTION;
        lua_pop(L, 1);
        if (!computed || opt_bool(L, t, "store"))
            return bad(err, model, name,
                       "search applies to computed fields that are not stored (a stored one is searched in the database)%s",
                       "");
        if (!ok)
            return bad(err, model, name, "search must be a method name or a function%s", "");
        fs->s.flags |= EO_FF_SEARCHABLE;
    } else {
        lua_pop(L, 1);
    }
    lua_getfield(L, t, "ondelete");
    if (!lua_isnil(L, -1)) {
        const char *od = lua_tostring(L, -1);
        if (od && strcmp(od, "cascade") == 0)
            fs->s.ondelete = EO_ONDELETE_CASCADE;
        else if (od && strcmp(od, "restrict") == 0)
            fs->s.ondelete = EO_ONDELETE_RESTRICT;
        else if (od && strcmp(od, "set null") == 0)
            fs->s.ondelete = EO_ONDELETE_SET_NULL;
        else {
            lua_pop(L, 1);
            return bad(err, model, name,
                       "ondelete must be \"set null\", \"cascade\" or \"restrict\"%s", "");
        }
    }
    lua_pop(L, 1);
    lua_getfield(L, t, "default");
    if (lua_type(L, -1) == LUA_TFUNCTION) {
        fs->s.flags |= EO_FF_DEFAULT_FN;
    } else if (!lua_isnil(L, -1) && (ft == EO_FT_EMBEDDED || ft == EO_FT_LIST)) {
        lua_pop(L, 1);
        return bad(err, model, name,
                   "a default for an Embedded or List field must be a function (the "
                   "sub-fields take defaults of their own)%s", "");
    } else if (!lua_isnil(L, -1)) {
        eo_field tmp;
        eo_model tm;
        int rc;
        /* a Json default is any value: encode it as JSON text */
        memset(&tmp, 0, sizeof tmp);
        memset(&tm, 0, sizeof tm);
        tm.name = (char *)model;
        tmp.name = (char *)name;
        tmp.type = fs->s.type;
        tmp.model = &tm;
        rc = eo_lua_to_value(L, -1, &tmp, EO_IDNUM, scratch, &fs->def, err);
        if (rc != EO_OK) {
            lua_pop(L, 1);
            return rc;
        }
        fs->s.def = &fs->def;
    }
    lua_pop(L, 1);
    return EO_OK;
}

/* Add the declared fields (list at index `list`) to m. */
int eo_lua__add_fields(lua_State *L, int list, eo_model *m, eo_error *err)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, list), i;
    eo_lua_scratch scratch = { 0 };
    int rc = EO_OK;
    for (i = 1; i <= n && rc == EO_OK; i++) {
        fspec fs;
        const char *name;
        lua_rawgeti(L, list, i);            /* stack: entry */
        lua_getfield(L, -1, "name");        /* stack: entry, name */
        lua_getfield(L, -2, "spec");        /* stack: entry, name, spec */
        name = lua_tostring(L, -2);
        if (name == NULL || !lua_istable(L, -1)) {
            rc = eo_error_set(err, EO_EINVAL, "%s: malformed field list", m->name);
        } else if ((rc = read_spec(L, lua_absindex(L, -1), m->name, name, &fs, &scratch, err)) ==
                   EO_OK) {
            rc = eo_model_add_field(NULL, m, &fs.s, err);
        }
        lua_pop(L, 3);
    }
    eo_lua_scratch_free(&scratch);
    return rc;
}

static int set_attrs(lua_State *L, int attrs, eo_model *m, eo_error *err)
{
    const char *desc, *order, *parent, *recname;
    int rc;
    lua_getfield(L, attrs, "_description");
    lua_getfield(L, attrs, "_order");
    lua_getfield(L, attrs, "_parent_name");
    lua_getfield(L, attrs, "_rec_name");
    desc = lua_tostring(L, -4);
    order = lua_tostring(L, -3);
    parent = lua_tostring(L, -2);
    recname = lua_tostring(L, -1);
    rc = eo_model_set(m, desc, order, parent, recname, err);
    lua_pop(L, 4);
    lua_getfield(L, attrs, "_abstract");
    if (lua_toboolean(L, -1))
        m->abstract = 1;
    lua_pop(L, 1);
    if (rc == EO_OK && order && strchr(order, '.') == NULL) {
        /* check the default order now, not at the first search (a path,
         * "partner_id.name", needs the comodels: it is checked when used) */
        eo_order_item *items = NULL;
        size_t ni;
        rc = eo_order_parse(&items, &ni, m, order, err);
        eo_free(items);
    }
    return rc;
}

/*
 * The fields the engine maintains, from the attributes (earnorm/history.lua
 * checked their shape): create_date and write_date unless _log_access is
 * false, the version field of _version (true: "version", or its name),
 * and the tracked fields of _history (true: every field that can be
 * tracked; { fields = { ... } }: those).
 */
static int auto_fields(lua_State *L, int attrs, eo_model *m, eo_error *err)
{
    int rc = EO_OK;
    size_t i;
    lua_getfield(L, attrs, "_log_access");
    if (lua_isnil(L, -1) || lua_toboolean(L, -1))
        rc = eo_model_log_access(m, err);
    lua_pop(L, 1);
    if (rc != EO_OK)
        return rc;
    lua_getfield(L, attrs, "_version");
    if (lua_type(L, -1) == LUA_TSTRING)
        rc = eo_model_versioned(m, lua_tostring(L, -1), err);
    else if (lua_toboolean(L, -1))
        rc = eo_model_versioned(m, NULL, err);
    lua_pop(L, 1);
    if (rc != EO_OK)
        return rc;
    lua_getfield(L, attrs, "_history");
    if (lua_type(L, -1) == LUA_TBOOLEAN && lua_toboolean(L, -1)) {
        for (i = 1; i < m->nfields && rc == EO_OK; i++)
            if (eo_field__untrackable(m->fields[i]) == NULL)
                rc = eo_model_track(m, m->fields[i]->name, err);
    } else if (lua_istable(L, -1)) {
        lua_Integer k, n;
        lua_getfield(L, -1, "fields");
        n = lua_istable(L, -1) ? (lua_Integer)lua_rawlen(L, -1) : 0;
        for (k = 1; k <= n && rc == EO_OK; k++) {
            lua_rawgeti(L, -1, k);
            if (lua_type(L, -1) == LUA_TSTRING)
                rc = eo_model_track(m, lua_tostring(L, -1), err);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return rc;
}

/* A One2many whose comodel is already known (declared before, or this
 * model itself) must name a Many2one back to this model: say so now, not
 * at the first query. Fields from `existing` sit in the scratch model as
 * placeholders, so they are looked up in `existing`. Comodels declared
 * later are checked when the registry resolves. */
static int check_inverses(const eo_registry *reg, const eo_model *m, const eo_model *existing,
                          eo_error *err)
{
    size_t i, first = existing ? existing->nfields : 1;
    for (i = first; i < m->nfields; i++) {
        const eo_field *f = m->fields[i], *inv = NULL;
        const eo_model *cm;
        size_t len;
        if (f->type != EO_FT_ONE2MANY)
            continue;
        len = strlen(f->inverse);
        if (strcmp(f->comodel_name, m->name) == 0) {
            inv = eo_model_field(m, f->inverse, len);
            if (inv && existing && (size_t)inv->index < existing->nfields)
                inv = eo_model_field(existing, f->inverse, len);
        } else if ((cm = eo_registry_find(reg, f->comodel_name)) != NULL) {
            inv = eo_model_field(cm, f->inverse, len);
        } else {
            continue;
        }
        if (inv == NULL || inv->type != EO_FT_MANY2ONE || inv->comodel_name == NULL ||
            strcmp(inv->comodel_name, m->name) != 0) {
            eo_error_set(err, EO_ENOTFOUND, "%s.%s: inverse field %s.%s must be a Many2one to %s",
                         m->name, f->name, f->comodel_name, f->inverse, m->name);
            eo_error_where(err, m->name, f->name);
            return EO_ENOTFOUND;
        }
    }
    return EO_OK;
}

/* Declare in a scratch registry first: any mistake surfaces before the
 * real registry changes. Existing fields are copied by name only. */
static int dry_run(lua_State *L, const eo_registry *reg, const char *name, int attrs, int list,
                   const eo_model *existing, eo_error *err)
{
    eo_registry *tmp = NULL;
    eo_model *m;
    size_t i;
    int rc;
    if (existing == NULL && (rc = eo_registry__check_table(reg, name, err)) != EO_OK)
        return rc;
    if ((rc = eo_registry_new(&tmp, err)) != EO_OK)
        return rc;
    if ((rc = eo_registry_add_model(&m, tmp, name, err)) != EO_OK)
        goto done;
    if (existing) {
        for (i = 1; i < existing->nfields; i++) {
            eo_field_spec s;
            memset(&s, 0, sizeof s);
            s.name = existing->fields[i]->name;
            s.type = EO_FT_INTEGER;
            if ((rc = eo_model_add_field(NULL, m, &s, err)) != EO_OK)
                goto done;
        }
    }
    if ((rc = eo_lua__add_fields(L, list, m, err)) != EO_OK)
        goto done;
    if ((rc = check_inverses(reg, m, existing, err)) != EO_OK)
        goto done;
    if ((rc = set_attrs(L, attrs, m, err)) == EO_OK && !existing)
        rc = auto_fields(L, attrs, m, err);
done:
    eo_registry_free(tmp);
    return rc;
}

/* core.define_model(name, attrs, fields, class, dry): declare the model,
 * or add the fields to it and set the attributes given; with dry, only
 * check that it would work. */
static int l_define_model(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    eo_lua_ctx *ctx;
    eo_registry *reg;
    eo_model *m;
    eo_error err;
    int rc, dry = lua_toboolean(L, 5);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TTABLE);
    ctx = eo_lua_ctx_get(L);
    reg = eo_lua_ctx_registry(ctx);
    m = eo_registry_find(reg, name);
    if ((rc = dry_run(L, reg, name, 2, 3, m, &err)) != EO_OK)
        return eo_lua_raise(L, &err);
    if (dry)
        return 0;
    if (m == NULL) {
        if ((rc = eo_registry_add_model(&m, reg, name, &err)) != EO_OK)
            return eo_lua_raise(L, &err);
        lua_pushvalue(L, 4);
        m->binding_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        if ((rc = eo_lua__add_fields(L, 3, m, &err)) != EO_OK || (rc = set_attrs(L, 2, m, &err)) != EO_OK ||
            (rc = auto_fields(L, 2, m, &err)) != EO_OK)
            return eo_lua_raise(L, &err);
        return 0;
    }
    if ((rc = eo_lua__add_fields(L, 3, m, &err)) != EO_OK || (rc = set_attrs(L, 2, m, &err)) != EO_OK)
        return eo_lua_raise(L, &err);
    return 0;
}

/* core.set_indexes(name, { { name =, fields = {...}, unique =, message = }, ... }):
 * the composite indexes and unique constraints of a declared model. */
static int l_set_indexes(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    eo_model *m = eo_registry_find(eo_lua_ctx_registry(eo_lua_ctx_get(L)), name);
    eo_index_spec specs[64];
    const char *names[64][32];
    lua_Integer n, i, k;
    eo_error err;
    luaL_checktype(L, 2, LUA_TTABLE);
    if (m == NULL)
        return eo_lua_raisef(L, EO_ENOTFOUND, name, NULL, "unknown model %s", name);
    n = (lua_Integer)lua_rawlen(L, 2);
    if (n > 64)
        return eo_lua_raisef(L, EO_ELIMIT, name, NULL,
                             "%s: more than 64 composite indexes and unique constraints", name);
    memset(specs, 0, sizeof specs);
    for (i = 1; i <= n; i++) {
        eo_index_spec *s = &specs[i - 1];
        lua_Integer nf;
        lua_rawgeti(L, 2, i); /* stack: entry (kept until the call: it holds the strings) */
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_getfield(L, -1, "name");
        s->constraint = lua_tostring(L, -1);
        lua_pop(L, 1);
        lua_getfield(L, -1, "message");
        s->message = lua_tostring(L, -1);
        lua_pop(L, 1);
        s->unique = opt_bool(L, lua_absindex(L, -1), "unique");
        lua_getfield(L, -1, "fields");
        luaL_checktype(L, -1, LUA_TTABLE);
        nf = (lua_Integer)lua_rawlen(L, -1);
        if (nf > 32)
            return eo_lua_raisef(L, EO_ELIMIT, name, NULL, "%s: an index takes at most 32 fields",
                                 name);
        for (k = 1; k <= nf; k++) {
            lua_rawgeti(L, -1, k);
            names[i - 1][k - 1] = lua_tostring(L, -1);
            lua_pop(L, 1);
        }
        s->fields = names[i - 1];
        s->nfields = (size_t)nf;
        lua_pop(L, 1); /* stack: entry */
    }
    if (eo_model_set_indexes(m, specs, (size_t)n, &err) != EO_OK)
        return eo_lua_raise(L, &err);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#define MAX_DEPTH 16      /* subdirectory levels of a models directory */
#define MAX_FILES 100000  /* model files in one models directory */

/* What list_lua_files gathers: paths relative to the models directory. */
typedef struct lister {
    char **names;
    size_t n, cap;
    int oom;
    eo_error err;
    const char *root;
} lister;

static int ends_lua(const char *name)
{
    size_t len = strlen(name);
    return len >= 5 && strcmp(name + len - 4, ".lua") == 0;
}

static void list_fail(lister *ls, const char *rel, const char *why)
{
    if (ls->err.code == EO_OK)
        eo_error_set(&ls->err, EO_EINVAL, "model file '%s/%s' %s", ls->root, rel, why);
}

static void list_add(lister *ls, const char *rel)
{
    if (ls->n == ls->cap) {
        char **v;
        size_t cap = ls->cap ? ls->cap * 2 : 16;
        if (ls->n >= MAX_FILES) {
            if (ls->err.code == EO_OK)
                eo_error_set(&ls->err, EO_ELIMIT, "models directory '%s' holds more than %d model files",
                             ls->root, MAX_FILES);
            return;
        }
        if ((v = eo_realloc(ls->names, cap * sizeof *v)) == NULL) {
            ls->oom = 1;
            return;
        }
        ls->names = v;
        ls->cap = cap;
    }
    if ((ls->names[ls->n] = eo_strdup(rel)) == NULL) {
        ls->oom = 1;
        return;
    }
    ls->n++;
}

/* Gather the *.lua files under the directory open at dfd (prefix: its
 * path relative to the root, "" for the root). Entries are looked at with
 * fstatat(AT_SYMLINK_NOFOLLOW) and subdirectories opened with O_NOFOLLOW
 * from their parent, so a link swapped in is never followed. The owner of
 * dfd is this function (fdopendir takes it). */
static void list_dir(lister *ls, int dfd, const char *prefix, int depth)
{
    DIR *d = fdopendir(dfd);
    struct dirent *e;
    if (d == NULL) {
        close(dfd);
        if (ls->err.code == EO_OK)
            eo_error_set(&ls->err, EO_ENOTFOUND, "cannot read models directory '%s/%s'", ls->root,
                         prefix);
        return;
    }
    while (!ls->oom && ls->err.code == EO_OK && (e = readdir(d)) != NULL) {
        char rel[4096];
        struct stat st;
        int w;
        if (e->d_name[0] == '.')
            continue;
        w = snprintf(rel, sizeof rel, "%s%s%s", prefix, *prefix ? "/" : "", e->d_name);
        if (w < 0 || (size_t)w >= sizeof rel) {
            list_fail(ls, e->d_name, "has a path too long");
            break;
        }
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (ends_lua(e->d_name))
                list_fail(ls, rel, "cannot be read");
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            struct stat to;
            if (ends_lua(e->d_name))
                list_fail(ls, rel, "is a symbolic link (model files must be regular files, not links)");
            else if (fstatat(dirfd(d), e->d_name, &to, 0) == 0 && S_ISDIR(to.st_mode))
                list_fail(ls, rel, "is a symbolic link to a directory (subdirectories of a models "
                                   "directory must be directories, not links)");
            continue;
        }
        if (S_ISDIR(st.st_mode) && !ends_lua(e->d_name)) {
            int sub;
            if (depth == 0 && strcmp(e->d_name, "lib") == 0)
                continue; /* helper modules: loaded by require, not as model files */
            if (depth + 1 > MAX_DEPTH) {
                list_fail(ls, rel, "is nested too deep (at most 16 levels of subdirectories)");
                break;
            }
            sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                list_fail(ls, rel, "is a directory that cannot be read");
                break;
            }
            list_dir(ls, sub, rel, depth + 1);
            continue;
        }
        if (!ends_lua(e->d_name))
            continue;
        if (!S_ISREG(st.st_mode)) {
            list_fail(ls, rel, "is not a regular file (model files must be regular files)");
            continue;
        }
        list_add(ls, rel);
    }
    closedir(d);
}

/* core.list_lua_files(path): a file, or the *.lua files of a directory
 * and its subdirectories (but lib/, the helper modules) in path order;
 * an entry named *.lua that is not a regular file, and a link to a
 * directory, are errors. Second result: the models directory (the
 * directory of a file). */
static int l_list_lua_files(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    struct stat st;
    lister ls;
    size_t i, plen = strlen(path);
    int dfd;
    memset(&ls, 0, sizeof ls);
    eo_error_clear(&ls.err);
    if (stat(path, &st) != 0)
        return eo_lua_raisef(L, EO_ENOTFOUND, NULL, NULL, "models path '%s' does not exist", path);
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return eo_lua_raisef(L, EO_EINVAL, NULL, NULL,
                             "models path '%s' is neither a directory nor a regular file", path);
    lua_newtable(L);
    if (!S_ISDIR(st.st_mode)) {
        const char *slash = strrchr(path, '/');
        lua_pushstring(L, path);
        lua_rawseti(L, -2, 1);
        if (slash == NULL)
            lua_pushliteral(L, ".");
        else if (slash == path)
            lua_pushliteral(L, "/");
        else
            lua_pushlstring(L, path, (size_t)(slash - path));
        return 2;
    }
    while (plen > 1 && path[plen - 1] == '/')
        plen--;
    lua_pushlstring(L, path, plen); /* stack: list, root */
    ls.root = lua_tostring(L, -1);
    dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return eo_lua_raisef(L, EO_ENOTFOUND, NULL, NULL, "cannot read models directory '%s'", path);
    list_dir(&ls, dfd, "", 0);
    if (!ls.oom && ls.n)
        qsort(ls.names, ls.n, sizeof *ls.names, cmp_str);
    /* free everything before anything can raise */
    for (i = 0; i < ls.n; i++) {
        if (!ls.oom && ls.err.code == EO_OK) {
            lua_pushfstring(L, "%s/%s", ls.root, ls.names[i]);
            lua_rawseti(L, -3, (lua_Integer)i + 1);
        }
        eo_free(ls.names[i]);
    }
    eo_free(ls.names);
    if (ls.oom)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory listing '%s'", path);
    if (ls.err.code != EO_OK)
        return eo_lua_raise(L, &ls.err);
    return 2;
}

/* The descriptor of a model file being read: closed by __gc when a raise
 * (out of memory while reading) skips the close. */
typedef struct fdbox {
    int fd;
} fdbox;

static int fdbox_gc(lua_State *L)
{
    fdbox *b = lua_touserdata(L, 1);
    if (b && b->fd >= 0) {
        close(b->fd);
        b->fd = -1;
    }
    return 0;
}

static fdbox *push_fdbox(lua_State *L)
{
    fdbox *box = lua_newuserdatauv(L, sizeof *box, 0);
    box->fd = -1;
    if (luaL_newmetatable(L, "earnorm.ModelFile")) {
        lua_pushcfunction(L, fdbox_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
    }
    lua_setmetatable(L, -2);
    return box;
}

/* Open `rel` (a path of '/'-separated components) beneath the directory
 * root, following no link on the way: each directory is opened with
 * O_NOFOLLOW | O_DIRECTORY from its parent, the file with O_NOFOLLOW.
 * Returns the descriptor, or -1 with errno set (ELOOP: a link). */
static int open_beneath(const char *root, const char *rel)
{
    char part[256];
    int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char *p = rel, *slash;
    while (dfd >= 0 && (slash = strchr(p, '/')) != NULL) {
        int sub, e;
        size_t n = (size_t)(slash - p);
        if (n == 0 || n >= sizeof part || (n <= 2 && p[0] == '.' && (n == 1 || p[1] == '.'))) {
            close(dfd);
            errno = EINVAL;
            return -1;
        }
        memcpy(part, p, n);
        part[n] = '\0';
        sub = openat(dfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        e = errno;
        close(dfd);
        /* a link opened with O_DIRECTORY | O_NOFOLLOW: ELOOP or ENOTDIR */
        errno = e;
        dfd = sub;
        p = slash + 1;
    }
    if (dfd < 0)
        return -1;
    {
        int fd, e;
        if (*p == '\0' || strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
            close(dfd);
            errno = EINVAL;
            return -1;
        }
        fd = openat(dfd, p, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        e = errno;
        close(dfd);
        errno = e;
        return fd;
    }
}

/* Read the file open in box and compile it as a text chunk named
 * "@<name>" whose _ENV is the table at env; pushes the chunk, or nil and
 * the message (2 results). */
static int read_chunk(lua_State *L, fdbox *box, const char *name, int env)
{
    luaL_Buffer b;
    struct stat st;
    const char *text;
    size_t len;
    int rc, read_errno = 0, fd = box->fd;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        box->fd = -1;
        return eo_lua_raisef(L, EO_EINVAL, NULL, NULL,
                             "model file '%s' is not a regular file (model files must be "
                             "regular files)", name);
    }
    luaL_buffinit(L, &b);
    for (;;) {
        char *p = luaL_prepbuffer(&b);
        ssize_t r = read(fd, p, LUAL_BUFFERSIZE);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            read_errno = errno;
            break;
        }
        if (r == 0)
            break;
        luaL_addsize(&b, (size_t)r);
    }
    close(fd);
    box->fd = -1;
    if (read_errno)
        return eo_lua_raisef(L, EO_ERROR, NULL, NULL, "cannot read model file '%s': %s", name,
                             strerror(read_errno));
    luaL_pushresult(&b);
    /* stack: ..., text */
    text = lua_tolstring(L, -1, &len);
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    if (len > 0 && text[0] == '#') {
        /* keep the newline: line numbers stay right */
        const char *nl = memchr(text, '\n', len);
        len = nl ? len - (size_t)(nl - text) : 0;
        text = nl ? nl : text + len;
    }
    lua_pushfstring(L, "@%s", name);
    rc = luaL_loadbufferx(L, text, len, lua_tostring(L, -1), "t");
    if (rc != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushvalue(L, env);
    if (lua_setupvalue(L, -2, 1) == NULL)
        lua_pop(L, 1);
    return 1;
}

/*
 * core.load_model_file(path, env, follow, root): the file compiled as a
 * text chunk whose _ENV is env, as loadfile(path, "t", env) gives it; or
 * nil and the message. Only a regular file is read (follow: the path may
 * be a symbolic link, for the path the host names itself). A path under
 * root (the models directory list_lua_files gave) is opened beneath it,
 * following no link on the way. A first line starting with '#' and a
 * UTF-8 byte order mark are skipped, as loadfile does.
 */
static int l_load_model_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int follow = lua_toboolean(L, 3);
    const char *root = luaL_optstring(L, 4, NULL);
    size_t rlen = root ? strlen(root) : 0;
    fdbox *box;
    int fd;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 4);
    /* the box and its __gc exist before the descriptor does */
    box = push_fdbox(L);
    if (!follow && root && strncmp(path, root, rlen) == 0 && path[rlen] == '/')
        fd = open_beneath(root, path + rlen + 1);
    else
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        int e = errno;
        if ((e == ELOOP || e == ENOTDIR) && !follow)
            return eo_lua_raisef(L, EO_EINVAL, NULL, NULL,
                                 "model file '%s' is a symbolic link (model files must be "
                                 "regular files, not links)", path);
        return eo_lua_raisef(L, e == ENOENT ? EO_ENOTFOUND : EO_ERROR, NULL, NULL,
                             "cannot open model file '%s': %s", path, strerror(e));
    }
    box->fd = fd;
    return read_chunk(L, box, path, 2);
}

/* A helper module name: dotted words of letters, digits and '_' under
 * lib ("lib.money", "lib.tax.rates"). */
static int helper_path(const char *name, char *out, size_t cap)
{
    const char *p = name;
    size_t o = 0, word = 0, words = 0;
    if (strncmp(name, "lib.", 4) != 0)
        return 0;
    for (; *p; p++) {
        char c = *p;
        if (c == '.') {
            if (word == 0)
                return 0;
            word = 0;
            words++;
            c = '/';
        } else if (isalpha((unsigned char)c) || c == '_' || (word > 0 && isdigit((unsigned char)c))) {
            if (++word > 64)
                return 0;
        } else {
            return 0;
        }
        if (o + 1 >= cap)
            return 0;
        out[o++] = c;
    }
    if (word == 0 || words > 8 || o + 5 >= cap)
        return 0;
    memcpy(out + o, ".lua", 5);
    return 1;
}

/*
 * core.load_helper_file(root, name, env): the helper module `name`
 * ("lib.money": root/lib/money.lua) compiled as load_model_file does, or
 * nil and the message. The name must be dotted words under lib; the file
 * is opened beneath root, following no link.
 */
static int l_load_helper_file(lua_State *L)
{
    const char *root = luaL_checkstring(L, 1);
    const char *name = luaL_checkstring(L, 2);
    char rel[600];
    fdbox *box;
    int fd;
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    if (strlen(name) > 500 || !helper_path(name, rel, sizeof rel))
        return eo_lua_raisef(L, EO_EINVAL, NULL, NULL,
                             "require(\"%s\"): a helper module is named lib.<name> with words of "
                             "letters, digits and '_'", name);
    box = push_fdbox(L);
    fd = open_beneath(root, rel);
    lua_pushfstring(L, "%s/%s", root, rel); /* stack: root, name, env, box, path */
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP || e == ENOTDIR)
            return eo_lua_raisef(L, EO_EINVAL, NULL, NULL,
                                 "require(\"%s\"): '%s' is a symbolic link or not a regular file "
                                 "(helper modules must be regular files under lib/, not links)",
                                 name, lua_tostring(L, -1));
        return eo_lua_raisef(L, e == ENOENT ? EO_ENOTFOUND : EO_ERROR, NULL, NULL,
                             "require(\"%s\"): no helper module %s (%s)", name,
                             lua_tostring(L, -1), strerror(e));
    }
    box->fd = fd;
    return read_chunk(L, box, lua_tostring(L, -1), 3);
}

/* core.registry_mark(): how many models the registry holds (a point a
 * failed load rolls back to). */
static int l_registry_mark(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)eo_registry_count(eo_lua_ctx_registry(eo_lua_ctx_get(L))));
    return 1;
}

/* core.registry_rollback(n): drop the models declared after mark n,
 * releasing their classes. */
static int l_registry_rollback(lua_State *L)
{
    eo_registry *reg = eo_lua_ctx_registry(eo_lua_ctx_get(L));
    size_t n = (size_t)luaL_checkinteger(L, 1), i;
    eo_error err;
    for (i = n; i < eo_registry_count(reg); i++) {
        eo_model *m = eo_registry_at(reg, i);
        if (m->binding_ref > 0)
            luaL_unref(L, LUA_REGISTRYINDEX, (int)m->binding_ref);
        m->binding_ref = 0;
    }
    if (eo_registry__truncate(reg, n, &err) != EO_OK)
        return eo_lua_raise(L, &err);
    return 0;
}

void eo_lua_open_models(lua_State *L)
{
    lua_pushcfunction(L, l_registry_mark);
    lua_setfield(L, -2, "registry_mark");
    lua_pushcfunction(L, l_registry_rollback);
    lua_setfield(L, -2, "registry_rollback");
    lua_pushcfunction(L, l_define_model);
    lua_setfield(L, -2, "define_model");
    lua_pushcfunction(L, l_set_indexes);
    lua_setfield(L, -2, "set_indexes");
    lua_pushcfunction(L, l_list_lua_files);
    lua_setfield(L, -2, "list_lua_files");
    lua_pushcfunction(L, l_load_model_file);
    lua_setfield(L, -2, "load_model_file");
    lua_pushcfunction(L, l_load_helper_file);
    lua_setfield(L, -2, "load_helper_file");
}
