/*
 * domain.c - Lua domain tables to eo_domain.
 *
 * { {"age", ">", 18}, "|", {"kind", "=", "company"}, {"email", "=", orm.null} }
 * Shape errors (arity, unknown operators, stray elements) are reported
 * with the element's position; field names and value types are checked
 * later, when the domain is bound to its model.
 *
 * A Lua domain may use one table in several places (a sub-domain given
 * twice, thirty levels deep, is 2^30 leaves): everything read counts
 * towards EO_DOMAIN_MAX_TERMS and EO_DOMAIN_MAX_VALUES, the JSON text of
 * table values (Json fields, literal tables) towards EO_LUA_JSON_MAX_TEXT
 * for the whole domain, and the count polls the call's deadline.
 * The recursion follows `any` sub-domains only (EO_DOMAIN_MAX_DEPTH), and
 * checks the Lua stack at each level (a coroutine's stack is small).
 */
#include <stdio.h>
#include <string.h>

#include "eo_lua.h"
#include "domain/domain_int.h"

int eo_lua__recordset_ids(lua_State *L, int idx);
const eo_model *eo_lua__recordset_model(lua_State *L, int idx);
int eo_lua__recordset_idlist(lua_State *L, int idx, const eo_id **ids, size_t *n,
                             eo_idkind *kind);

/* One conversion: the id kind, and what was read so far. */
typedef struct walk {
    eo_idkind kind;
    const eo_model *model;  /* the model of this level, when known (Reference values) */
    const eo_field *ref;    /* the leaf being read is on this Reference field */
    size_t terms;         /* operators and leaves */
    size_t values;        /* the values of lists */
    size_t json_room;     /* bytes of JSON text the leaves' table values may still take */
} walk;

static int build(lua_State *L, int idx, walk *w, int depth, eo_domain **out, eo_error *err);

/* The field at the end of path from m (through relational fields, and
 * with sub into sub-record types: Embedded, List), or NULL. */
static const eo_field *walk_path(const eo_model *m, const char *path, int sub)
{
    const eo_field *f = NULL;
    while (m != NULL) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        f = eo_model_field(m, path, len);
        if (f == NULL || dot == NULL)
            return f;
        m = f->comodel ? f->comodel : sub ? f->embedded : NULL;
        path = dot + 1;
    }
    return NULL;
}

static const eo_field *path_field(const eo_model *m, const char *path)
{
    return walk_path(m, path, 0);
}

/* EINVAL when the value at idx (a table, a recordset, the environment)
 * cannot be the value of the scalar leaf {path, op, value}: only 'in' and
 * its kin take lists, only Json-like fields take tables, only relational
 * fields take records. Never compared as its JSON text or its id. */
static int scalar_refused(lua_State *L, int idx, const eo_model *m, const char *path,
                          const char *op, eo_error *err)
{
    const eo_field *f;
    eo_ftype t;
    const char *what;
    int rs;
    if (m == NULL || eo_lua_is_null(L, idx) ||
        (lua_type(L, idx) != LUA_TTABLE && lua_type(L, idx) != LUA_TUSERDATA))
        return EO_OK;
    if ((f = walk_path(m, path, 1)) == NULL)
        return EO_OK; /* binding names the unknown field */
    t = eo_ftype_base(f->type);
    rs = eo_lua__recordset_model(L, idx) != NULL;
    if (rs && (t == EO_FT_ID || t == EO_FT_MANY2ONE || t == EO_FT_ONE2MANY ||
               t == EO_FT_MANY2MANY || f->type == EO_FT_REFERENCE))
        return EO_OK;
    if (!rs && lua_type(L, idx) == LUA_TTABLE &&
        (t == EO_FT_JSON || f->type == EO_FT_EMBEDDED || f->type == EO_FT_LIST))
        return EO_OK;
    what = rs ? "a recordset" : lua_type(L, idx) == LUA_TTABLE ? "a table" : "a userdata";
    eo_error_set(err, EO_EINVAL,
                 "%s: domain leaf {\"%s\", \"%s\", ...}: expected a value for the %s field %s, "
                 "got %s%s",
                 m->name, path, op, eo_ftype_name(f->type), f->name, what,
                 rs ? "" : " (a list of values takes 'in' or 'not in')");
    eo_error_where(err, m->name, path);
    return EO_EINVAL;
}

/* The Reference field path ends on (its values are records of any of its
 * models, written "model,id"), or NULL. */
static const eo_field *reference_of(const eo_model *m, const char *path)
{
    const eo_field *f = m ? path_field(m, path) : NULL;
    return f && f->type == EO_FT_REFERENCE ? f : NULL;
}

/* The model an `any` sub-domain on path is about, or NULL. */
static const eo_model *sub_model(const eo_model *m, const char *path)
{
    const eo_field *f = m ? path_field(m, path) : NULL;
    return f ? f->comodel : NULL;
}

/* Push the records of the recordset at idx as a list of "model,id"; 0
 * when it is not a recordset. */
static int reference_texts(lua_State *L, int idx)
{
    const eo_id *ids;
    const eo_model *m = eo_lua__recordset_model(L, idx);
    size_t n, i;
    eo_idkind kind;
    if (m == NULL || !eo_lua__recordset_idlist(L, idx, &ids, &n, &kind))
        return 0;
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        char hex[25];
        eo_value v = eo_id_to_value(ids[i], kind, hex);
        if (v.type == EO_VINT)
            lua_pushfstring(L, "%s,%I", m->name, (lua_Integer)v.u.i);
        else
            lua_pushfstring(L, "%s,%s", m->name, hex);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* Count what was read (n terms, or n list values); EO_ELIMIT / EO_ETIMEOUT
 * when over the limits or the time. */
static int count(walk *w, size_t n, int values, eo_error *err)
{
    size_t before = w->terms + w->values;
    if (values)
        w->values += n;
    else
        w->terms += n;
    if (w->terms > EO_DOMAIN_MAX_TERMS || w->values > EO_DOMAIN_MAX_VALUES)
        return eo_error_set(err, EO_ELIMIT,
                            "domain: more than %d operators and leaves or %d list values (a "
                            "table used in several places counts each time)",
                            EO_DOMAIN_MAX_TERMS, EO_DOMAIN_MAX_VALUES);
    if ((before >> 12) != ((w->terms + w->values) >> 12) && eo_deadline__passed())
        /* a long domain is read in C, where the count hook never runs */
        return eo_error_set(err, EO_ETIMEOUT,
                            "reading the domain ran past the call's time limit and was stopped");
    return EO_OK;
}

static int room(lua_State *L, eo_error *err)
{
    /* a few slots per level: a coroutine's stack starts small */
    return lua_checkstack(L, 12) ? EO_OK
                                 : eo_error_set(err, EO_ENOMEM, "out of Lua stack reading a domain");
}

static int list_values(lua_State *L, int idx, walk *w, eo_lua_scratch *s, eo_vec *vals,
                       eo_error *err)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), i;
    eo_idkind kind = w->kind;
    int rc = count(w, (size_t)n, 1, err);
    for (i = 1; i <= n && rc == EO_OK; i++) {
        eo_value v;
        lua_rawgeti(L, idx, i);
        if (lua_istable(L, -1) && !eo_lua_is_null(L, -1))
            rc = eo_error_set(err, EO_EINVAL, "a value list cannot hold tables");
        else if ((rc = eo_lua_to_value(L, -1, w->ref, kind, s, &v, err)) == EO_OK &&
                 eo_vec__push(vals, &v) != EO_OK)
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        lua_pop(L, 1);
    }
    return rc;
}

static int leaf(lua_State *L, int t, lua_Integer pos, eo_dbuilder *b, walk *w, int depth,
                eo_error *err)
{
    size_t len = lua_rawlen(L, t);
    const char *path, *op;
    eo_dop dop;
    eo_lua_scratch s = { 0 };
    eo_idkind kind = w->kind;
    int rc = room(L, err), vt, opt2 = 0;

    if (rc != EO_OK)
        return rc;
    s.json_room = &w->json_room; /* one budget for every leaf of the domain */

    if (len == 2) {
        /* { f, "=?", v } with v nil has two elements: "=?" takes nil */
        lua_rawgeti(L, t, 2);
        opt2 = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "=?") == 0;
        lua_pop(L, 1);
    }
    if (len != 3 && !opt2) {
        lua_rawgeti(L, t, 1);
        path = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        rc = eo_error_set(err, EO_EINVAL,
                          "domain leaf %lld%s%s%s has %zu element%s, expected 3: {field, operator, value}%s",
                          (long long)pos, path ? " (" : "", path ? path : "", path ? ")" : "",
                          len, len == 1 ? "" : "s",
                          len == 2 ? " (a nil value ends a Lua list: use orm.null for NULL)" : "");
        eo_error_where(err, NULL, path);
        lua_pop(L, 1);
        return rc;
    }
    lua_rawgeti(L, t, 1);
    lua_rawgeti(L, t, 2);
    /* stack: path, op */
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
        rc = eo_error_set(err, EO_EINVAL, "domain leaf %lld: the %s must be a string",
                          (long long)pos, lua_type(L, -2) != LUA_TSTRING ? "field name" : "operator");
        lua_pop(L, 2);
        return rc;
    }
    {
        size_t plen, olen;
        path = lua_tolstring(L, -2, &plen);
        op = lua_tolstring(L, -1, &olen);
        if (strlen(path) != plen || strlen(op) != olen) {
            rc = eo_error_set(err, EO_EINVAL, "domain leaf %lld: the %s holds a NUL byte",
                              (long long)pos, strlen(path) != plen ? "field name" : "operator");
            lua_pop(L, 2);
            return rc;
        }
    }
    lua_rawgeti(L, t, 3);
    /* stack: path, op, value (the strings stay referenced by the leaf table) */
    vt = lua_type(L, -1);
    if (eo_dop_parse(&dop, op, strlen(op)) != EO_OK) {
        rc = eo_dbuilder_leaf(b, path, op, &(eo_value){ 0 }, err); /* names the operator */
        eo_error_where(err, NULL, path);
    } else if (dop == EO_OP_ANY || dop == EO_OP_NOT_ANY) {
        eo_domain *sub = NULL;
        if (vt != LUA_TTABLE)
            rc = eo_error_set(err, EO_EINVAL, "domain leaf {%s, %s, ...}: the value must be a domain",
                              path, op);
        else if (depth + 1 >= EO_DOMAIN_MAX_DEPTH)
            rc = eo_error_set(err, EO_ELIMIT,
                              "domain nests more than %d levels deep ('any' sub-domains)",
                              EO_DOMAIN_MAX_DEPTH);
        else {
            const eo_model *up = w->model;
            w->model = sub_model(w->model, path);
            if ((rc = build(L, lua_absindex(L, -1), w, depth + 1, &sub, err)) == EO_OK)
                rc = eo_dbuilder_leaf_sub(b, path, op, sub, err);
            w->model = up;
        }
    } else if ((w->ref = reference_of(w->model, path)) != NULL &&
               (dop == EO_OP_IN || dop == EO_OP_NOT_IN) &&
               (vt == LUA_TTABLE || reference_texts(L, -1))) {
        /* records of several models, or "model,id" texts */
        eo_vec vals = EO_VEC_INIT(eo_value);
        if (vt != LUA_TTABLE)
            lua_replace(L, -2);
        rc = list_values(L, lua_absindex(L, -1), w, &s, &vals, err);
        if (rc == EO_OK)
            rc = eo_dbuilder_leaf_list(b, path, op, vals.items, vals.len, err);
        eo_vec__free(&vals);
    } else if ((dop == EO_OP_IN || dop == EO_OP_NOT_IN || dop == EO_OP_CHILD_OF ||
                dop == EO_OP_PARENT_OF) &&
               (vt == LUA_TTABLE || eo_lua__recordset_ids(L, -1))) {
        eo_vec vals = EO_VEC_INIT(eo_value);
        if (vt != LUA_TTABLE)
            lua_replace(L, -2); /* the recordset's id list replaces it */
        rc = list_values(L, lua_absindex(L, -1), w, &s, &vals, err);
        if (rc == EO_OK)
            rc = eo_dbuilder_leaf_list(b, path, op, vals.items, vals.len, err);
        eo_vec__free(&vals);
    } else if (opt2) {
        eo_value v = eo_null();
        rc = eo_dbuilder_leaf(b, path, op, &v, err);
    } else {
        eo_value v;
        if ((rc = scalar_refused(L, -1, w->model, path, op, err)) == EO_OK &&
            (rc = eo_lua_to_value(L, -1, w->ref, kind, &s, &v, err)) == EO_OK)
            rc = eo_dbuilder_leaf(b, path, op, &v, err);
    }
    /* the shared budget, not this value alone, stopped it: say so */
    if (rc == EO_ELIMIT && s.json_over && w->json_room < EO_LUA_JSON_MAX_TEXT)
        eo_error_set(err, EO_ELIMIT,
                     "domain leaf %lld {\"%s\", \"%s\", ...}: the domain's table values are more "
                     "than %zu bytes of JSON text together (a table used in several places counts "
                     "each time)",
                     (long long)pos, path, op, EO_LUA_JSON_MAX_TEXT);
    w->ref = NULL;
    lua_pop(L, 3);
    eo_lua_scratch_free(&s);
    return rc;
}

static int build(lua_State *L, int idx, walk *w, int depth, eo_domain **out, eo_error *err)
{
    eo_dbuilder *b = NULL;
    lua_Integer n, i;
    int rc;
    *out = NULL;
    if ((rc = room(L, err)) != EO_OK)
        return rc;
    if (!lua_istable(L, idx))
        return eo_error_set(err, EO_EINVAL, "a domain must be a list of leaves, got a %s",
                            luaL_typename(L, idx));
    n = (lua_Integer)lua_rawlen(L, idx);
    /* a dictionary is a common mistake: { name = "x" } */
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int bad = !lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 || lua_tointeger(L, -2) > n;
        if (bad) {
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
            rc = eo_error_set(err, EO_EINVAL,
                              "a domain is a list of {field, operator, value} leaves; it has key '%s'",
                              k);
            lua_pop(L, 2);
            return rc;
        }
        lua_pop(L, 1);
    }
    if ((rc = eo_dbuilder_new(&b, err)) != EO_OK)
        return rc;
    for (i = 1; i <= n && rc == EO_OK; i++) {
        int t;
        if ((rc = count(w, 1, 0, err)) != EO_OK)
            break;
        t = lua_rawgeti(L, idx, i);
        if (t == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            if (len == 1 && (*s == '&' || *s == '|' || *s == '!'))
                rc = eo_dbuilder_op(b, *s, err);
            else
                rc = eo_error_set(err, EO_EINVAL,
                                  "domain element %lld: '%s' is not '&', '|' or '!' (a leaf is {field, operator, value})",
                                  (long long)i, s);
        } else if (t == LUA_TTABLE) {
            rc = leaf(L, lua_absindex(L, -1), i, b, w, depth, err);
        } else {
            rc = eo_error_set(err, EO_EINVAL,
                              "domain element %lld: expected '&', '|', '!' or a {field, operator, value} leaf, got a %s",
                              (long long)i, luaL_typename(L, -1));
        }
        lua_pop(L, 1);
    }
    if (rc != EO_OK) {
        eo_dbuilder_free(b);
        return rc;
    }
    return eo_dbuilder_finish(out, b, err);
}

int eo_lua_to_domain(lua_State *L, int idx, eo_idkind kind, eo_domain **out, eo_error *err)
{
    return eo_lua_to_domain_of(L, idx, kind, NULL, out, err);
}

int eo_lua_to_domain_of(lua_State *L, int idx, eo_idkind kind, const eo_model *m,
                        eo_domain **out, eo_error *err)
{
    walk w;
    int rc;
    if (lua_isnoneornil(L, idx))
        return eo_domain_new_true(out, err);
    w.kind = kind;
    w.model = m;
    w.ref = NULL;
    w.terms = w.values = 0;
    w.json_room = EO_LUA_JSON_MAX_TEXT;
    /* the builder is C memory held across Lua calls that may allocate (a
     * number read as text, a recordset's ids): the VM's limit waits, so an
     * allocation cannot raise past it */
    eo_lua_critical(L, 1);
    rc = build(L, lua_absindex(L, idx), &w, 0, out, err);
    eo_lua_critical(L, -1);
    return rc;
}

/* core.like_escape(s): s with %, _ and \\ quoted for a like pattern. */
static int l_like_escape(lua_State *L)
{
    size_t n, len;
    const char *s;
    char *dst;
    if (lua_type(L, 1) != LUA_TSTRING)
        return eo_lua_raisef(L, EO_EINVAL, NULL, NULL, "orm.like_escape: expected a string, got %s",
                             luaL_typename(L, 1));
    s = lua_tolstring(L, 1, &n);
    if (n > ((size_t)-1) / 4)
        return luaL_error(L, "like_escape: text too long");
    /* Lua's own memory: nothing to free if pushing raises */
    dst = lua_newuserdatauv(L, 2 * n + 1, 0);
    len = eo_domain__like_escape_into(dst, s, n);
    lua_pushlstring(L, dst, len);
    return 1;
}

void eo_lua_open_domains(lua_State *L)
{
    lua_pushcfunction(L, l_like_escape);
    lua_setfield(L, -2, "like_escape");
}
