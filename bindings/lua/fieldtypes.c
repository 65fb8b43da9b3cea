/*
 * fieldtypes.c - the declaration options of the field types built on
 * others: Html{ sanitize }, Monetary{ currency_field }, Reference{
 * selection }, Properties{ definition, definition_field }.
 *
 * model.c has already refused these options on other types and unknown
 * options everywhere; here their values are checked and put in the spec.
 * The core checks what they name once the registry is complete
 * (core/types/types.c). Html's sanitizing is not built: sanitize = true
 * is refused rather than accepted and ignored.
 */
#include <stdio.h>
#include <string.h>

#include "eo_lua.h"

static int bad(eo_error *err, const char *model, const char *field, const char *what)
{
    eo_error_set(err, EO_EINVAL, "%s.%s: %s", model, field, what);
    eo_error_where(err, model, field);
    return EO_EINVAL;
}

/* The string option `key`, or NULL when absent; -1 in *rc when not a string. */
static const char *str_option(lua_State *L, int t, const char *key, int *bad_type)
{
    const char *s = NULL;
    lua_getfield(L, t, key);
    if (lua_type(L, -1) == LUA_TSTRING)
        s = lua_tostring(L, -1); /* stays reachable through the declaration */
    else if (!lua_isnil(L, -1))
        *bad_type = 1;
    lua_pop(L, 1);
    return s;
}

int eo_lua__type_options(lua_State *L, int t, const char *model, const char *name,
                         eo_field_spec *spec, const char **models, size_t cap, eo_error *err)
{
    int wrong = 0;
    char what[300];
    switch (spec->type) {
    case EO_FT_HTML:
        lua_getfield(L, t, "sanitize");
        if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TBOOLEAN) {
            lua_pop(L, 1);
            return bad(err, model, name, "sanitize must be a boolean");
        }
        wrong = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (wrong)
            return bad(err, model, name,
                       "sanitize = true is not built yet: Html is stored as given, without "
                       "sanitizing (it arrives with the security work; until then leave "
                       "sanitize unset or false and sanitize the markup yourself)");
        return EO_OK;
    case EO_FT_MONETARY:
        spec->currency_field = str_option(L, t, "currency_field", &wrong);
        if (wrong)
            return bad(err, model, name, "currency_field must be a field name");
        return EO_OK;
    case EO_FT_REFERENCE: {
        lua_Integer n, k;
        lua_getfield(L, t, "selection");
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            return bad(err, model, name,
                       "a Reference needs selection = { \"model\", ... }: the models it may "
                       "point to");
        }
        n = (lua_Integer)lua_rawlen(L, -1);
        if (n == 0 || (size_t)n > cap) {
            lua_pop(L, 1);
            snprintf(what, sizeof what, "selection must list 1 to %zu model names", cap);
            return bad(err, model, name, what);
        }
        for (k = 1; k <= n; k++) {
            lua_rawgeti(L, -1, k);
            if (lua_type(L, -1) != LUA_TSTRING) {
                lua_pop(L, 2);
                return bad(err, model, name, "selection must list model names (strings)");
            }
            models[k - 1] = lua_tostring(L, -1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        spec->choices = models;
        spec->nchoices = (size_t)n;
        return EO_OK;
    }
    case EO_FT_PROPERTIES:
        spec->definition = str_option(L, t, "definition", &wrong);
        spec->definition_field = str_option(L, t, "definition_field", &wrong);
        if (wrong)
            return bad(err, model, name, "definition and definition_field must be field names");
        return EO_OK;
    default:
        return EO_OK;
    }
}
