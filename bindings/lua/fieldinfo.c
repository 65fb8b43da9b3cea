/*
 * fieldinfo.c - a model's metadata as Lua tables, for fields_get and
 * display_name (earnorm/conveniences.lua).
 *
 * core.model_info(rs), core.fields_info(rs) and core.rec_name(rs) read the C metadata the
 * ORM works with (eo_model, eo_field), not the declaration tables a model
 * file wrote: those belong to the model file, which may change them after
 * declaring. Every call builds new tables, so nothing the caller does to
 * them reaches the registry.
 */
#include <string.h>

#include "eo_lua.h"

const eo_model *eo_lua__recordset_model(lua_State *L, int idx);

static const eo_model *check_model(lua_State *L, int idx)
{
    const eo_model *m = eo_lua__recordset_model(L, idx);
    if (m == NULL)
        luaL_typeerror(L, idx, "earnorm.Recordset");
    return m;
}

static void set_str(lua_State *L, const char *k, const char *v)
{
    if (v == NULL)
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, int v)
{
    lua_pushboolean(L, v != 0);
    lua_setfield(L, -2, k);
}

/* A list of n strings at -1, under key k. */
static void set_list(lua_State *L, const char *k, char *const *v, size_t n)
{
    size_t i;
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_pushstring(L, v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, k);
}

/* core.model_info(rs) -> { name, description, order, rec_name, parent_name, active } */
static int l_model_info(lua_State *L)
{
    const eo_model *m = check_model(L, 1);
    const eo_field *af = eo_model_active_field(m);
    lua_createtable(L, 0, 6);
    set_str(L, "name", m->name);
    set_str(L, "description", m->description);
    set_str(L, "order", m->order);
    set_str(L, "rec_name", m->rec_name);
    set_str(L, "parent_name", m->parent_name);
    set_str(L, "active", af ? af->name : NULL);
    return 1;
}

/* core.rec_name(rs) -> the name of the field that names its records, or nil */
static int l_rec_name(lua_State *L)
{
    const eo_model *m = check_model(L, 1);
    if (m->rec_name == NULL)
        return 0;
    lua_pushstring(L, m->rec_name);
    return 1;
}

static void push_field(lua_State *L, const eo_field *f)
{
    static const char *const ondelete[] = { "set null", "cascade", "restrict" };
    lua_createtable(L, 0, 16);
    set_str(L, "name", f->name);
    set_str(L, "type", eo_ftype_name(f->type));
    set_str(L, "string", f->string);
    set_str(L, "help", f->help);
    set_bool(L, "required", f->flags & EO_FF_REQUIRED);
    set_bool(L, "readonly", f->flags & EO_FF_READONLY);
    set_bool(L, "stored", f->flags & EO_FF_STORED);
    set_bool(L, "computed", f->flags & EO_FF_COMPUTED);
    set_bool(L, "index", f->flags & EO_FF_INDEX);
    set_bool(L, "unique", f->flags & EO_FF_UNIQUE);
    if (f->size > 0) {
        lua_pushinteger(L, f->size);
        lua_setfield(L, -2, "size");
    }
    if (eo_ftype_base(f->type) == EO_FT_DECIMAL) {
        lua_createtable(L, 2, 0);
        lua_pushinteger(L, f->precision);
        lua_rawseti(L, -2, 1);
        lua_pushinteger(L, f->scale);
        lua_rawseti(L, -2, 2);
        lua_setfield(L, -2, "digits");
    }
    if (f->type == EO_FT_SELECTION)
        set_list(L, "choices", f->choices, f->nchoices);
    if (f->type == EO_FT_REFERENCE)
        set_list(L, "models", f->choices, f->nchoices);
    set_str(L, "currency_field", f->currency_field);
    set_str(L, "definition", f->definition);
    set_str(L, "definition_field", f->definition_field);
    set_str(L, "comodel", f->comodel_name);
    set_str(L, "inverse", f->inverse);
    set_str(L, "relation", f->type == EO_FT_MANY2MANY ? f->relation : NULL);
    if (f->type == EO_FT_MANY2ONE && f->ondelete >= 0 && f->ondelete <= 2)
        set_str(L, "ondelete", ondelete[f->ondelete]);
    if (f->flags & EO_FF_COMPUTED)
        set_list(L, "depends", f->depends, f->ndepends);
}

/* core.fields_info(rs) -> list of the model's fields (id first), each a
 * table: name, type ("Char"), string, help, required, readonly, stored,
 * computed, index, unique, size, digits, choices, comodel, inverse,
 * relation, ondelete, depends; models (Reference), currency_field
 * (Monetary), definition and definition_field (Properties). */
static int l_fields_info(lua_State *L)
{
    const eo_model *m = check_model(L, 1);
    size_t i;
    lua_createtable(L, (int)m->nfields, 0);
    for (i = 0; i < m->nfields; i++) {
        push_field(L, m->fields[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

void eo_lua_open_fieldinfo(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "model_info", l_model_info }, { "fields_info", l_fields_info },
        { "rec_name", l_rec_name }, { NULL, NULL },
    };
    luaL_setfuncs(L, fns, 0);
}
