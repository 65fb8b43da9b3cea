/*
 * value.c - Lua values <-> eo_value, orm.null, and JSON through libbson.
 *
 * Conversions never raise: they report through eo_error so callers can
 * release what they hold first. Strings are Borrowed from Lua (the values
 * are on the stack for the whole call); text made here (JSON of a Json
 * field) lives in an eo_lua_scratch until the call ends.
 */
#include <bson/bson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "eo_lua.h"

static const char null_key = 'n';

static int null_tostring(lua_State *L)
{
    lua_pushliteral(L, "null");
    return 1;
}

void eo_lua_push_null(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &null_key) != LUA_TUSERDATA) {
        lua_pop(L, 1);
        lua_newuserdatauv(L, 0, 0);
        lua_createtable(L, 0, 2);
        lua_pushcfunction(L, null_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "earnorm.null");
        lua_setfield(L, -2, "__name");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &null_key);
    }
}

int eo_lua_is_null(lua_State *L, int idx)
{
    int r;
    if (lua_type(L, idx) != LUA_TUSERDATA)
        return 0;
    idx = lua_absindex(L, idx);
    eo_lua_push_null(L);
    r = lua_rawequal(L, idx, -1);
    lua_pop(L, 1);
    return r;
}

void eo_lua_scratch_free(eo_lua_scratch *s)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        eo_free(s->blocks[i]);
    eo_free(s->blocks);
    s->blocks = NULL;
    s->n = s->cap = 0;
}

char *eo_lua_scratch_keep(eo_lua_scratch *s, char *p)
{
    if (p == NULL)
        return NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **b = eo_realloc(s->blocks, cap * sizeof *b);
        if (b == NULL) {
            eo_free(p);
            return NULL;
        }
        s->blocks = b;
        s->cap = cap;
    }
    s->blocks[s->n++] = p;
    return p;
}

/* recordset.c */
int eo_lua__recordset_value(lua_State *L, int idx, eo_idkind kind, eo_lua_scratch *s,
                            eo_value *out, eo_error *err);
const eo_model *eo_lua__recordset_model(lua_State *L, int idx);

/* A recordset is a value only for a Many2one to its own model. */
static int check_record_for(lua_State *L, int idx, const eo_field *f, eo_error *err)
{
    const eo_model *rm = eo_lua__recordset_model(L, idx);
    if (f == NULL || rm == NULL)
        return EO_OK;
    if (f->type != EO_FT_MANY2ONE && f->type != EO_FT_ID)
        eo_error_set(err, EO_EINVAL, "%s.%s: expected a value for a %s field, got a %s recordset",
                     f->model->name, f->name, eo_ftype_name(f->type), rm->name);
    else if (f->type == EO_FT_MANY2ONE && f->comodel && f->comodel != rm)
        eo_error_set(err, EO_EINVAL, "%s.%s: expected a %s record, got a %s record",
                     f->model->name, f->name, f->comodel->name, rm->name);
    else
        return EO_OK;
    eo_error_where(err, f->model->name, f->name);
    return EO_EINVAL;
}

int eo_lua_to_value(lua_State *L, int idx, const eo_field *f, eo_idkind kind, eo_lua_scratch *s,
                    eo_value *out, eo_error *err)
{
    int t = lua_type(L, idx);
    *out = eo_null();
    if (eo_lua_is_null(L, idx) || t == LUA_TNIL)
        return EO_OK;
    if ((f && f->type == EO_FT_JSON) || (f == NULL && t == LUA_TTABLE)) {
        /* Json fields take any value; elsewhere a table is data to match
         * literally, never an operator: keep its JSON text */
        char *json;
        size_t len;
        int rc;
        if (t == LUA_TUSERDATA && f == NULL)
            goto userdata;
        if ((rc = eo_lua_json_encode(L, idx, &json, &len, err)) != EO_OK)
            return rc;
        if (eo_lua_scratch_keep(s, json) == NULL)
            return eo_error_set(err, EO_ENOMEM, "out of memory");
        *out = eo_text(json, len);
        return EO_OK;
    }
    switch (t) {
    case LUA_TBOOLEAN:
        if (!lua_toboolean(L, idx) && f && f->type != EO_FT_BOOLEAN)
            return EO_OK; /* false means "empty", as in Odoo */
        *out = eo_bool(lua_toboolean(L, idx));
        return EO_OK;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            *out = eo_int(lua_tointeger(L, idx));
        else
            *out = eo_float(lua_tonumber(L, idx));
        return EO_OK;
    case LUA_TSTRING: {
        size_t n;
        const char *p = lua_tolstring(L, idx, &n);
        *out = f && f->type == EO_FT_BINARY ? eo_blob(p, n) : eo_text(p, n);
        return EO_OK;
    }
    case LUA_TUSERDATA:
    userdata: {
        int r = check_record_for(L, idx, f, err);
        if (r != EO_OK)
            return r;
        r = eo_lua__recordset_value(L, idx, kind, s, out, err);
        if (r != 1)
            return r < 0 ? r : eo_error_set(err, EO_EINVAL, "cannot use a %s as a value",
                                            luaL_typename(L, idx));
        return EO_OK;
    }
    default:
        if (f) {
            eo_error_set(err, EO_EINVAL, "%s.%s: expected a value for a %s field, got a %s",
                         f->model->name, f->name, eo_ftype_name(f->type), luaL_typename(L, idx));
            eo_error_where(err, f->model->name, f->name);
            return EO_EINVAL;
        }
        return eo_error_set(err, EO_EINVAL, "cannot use a %s as a value", luaL_typename(L, idx));
    }
}

void eo_lua_push_value(lua_State *L, const eo_value *v)
{
    switch (v->type) {
    case EO_VNULL: lua_pushnil(L); break;
    case EO_VBOOL: lua_pushboolean(L, v->u.b); break;
    case EO_VINT: lua_pushinteger(L, (lua_Integer)v->u.i); break;
    case EO_VFLOAT: lua_pushnumber(L, v->u.f); break;
    case EO_VTEXT:
    case EO_VBLOB: lua_pushlstring(L, v->u.s.p, v->u.s.n); break;
    }
}

/* ---- JSON ---- */

/* recordset.c: push a recordset's ids as a Lua list; 1 when idx is one */
int eo_lua__recordset_ids(lua_State *L, int idx);

static int is_sequence(lua_State *L, int idx, lua_Integer *len)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    *len = n;
    return n > 0 && count == n;
}

static int append(bson_t *doc, const char *key, int klen, lua_State *L, int idx, int depth,
                  eo_error *err)
{
    int t = lua_type(L, idx);
    idx = lua_absindex(L, idx);
    if (depth > 64)
        return eo_error_set(err, EO_EINVAL, "JSON: value nested more than 64 levels (a cycle?)");
    if (!lua_checkstack(L, 4))
        return eo_error_set(err, EO_ENOMEM, "JSON: Lua stack exhausted");
    switch (t) {
    case LUA_TNIL:
        bson_append_null(doc, key, klen);
        return EO_OK;
    case LUA_TBOOLEAN:
        bson_append_bool(doc, key, klen, lua_toboolean(L, idx));
        return EO_OK;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            bson_append_int64(doc, key, klen, lua_tointeger(L, idx));
        else
            bson_append_double(doc, key, klen, lua_tonumber(L, idx));
        return EO_OK;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (!bson_utf8_validate(s, n, true)) {
            bson_append_binary(doc, key, klen, BSON_SUBTYPE_BINARY, (const uint8_t *)s, (uint32_t)n);
            return EO_OK;
        }
        bson_append_utf8(doc, key, klen, s, (int)n);
        return EO_OK;
    }
    case LUA_TUSERDATA:
        if (eo_lua_is_null(L, idx)) {
            bson_append_null(doc, key, klen);
            return EO_OK;
        }
        if (eo_lua__recordset_ids(L, idx)) {
            int rc = append(doc, key, klen, L, -1, depth + 1, err);
            lua_pop(L, 1);
            return rc;
        }
        return eo_error_set(err, EO_EINVAL, "JSON: cannot encode a %s", luaL_typename(L, idx));
    case LUA_TTABLE: {
        bson_t child;
        lua_Integer n, i;
        int rc = EO_OK;
        if (is_sequence(L, idx, &n)) {
            bson_append_array_begin(doc, key, klen, &child);
            for (i = 1; i <= n && rc == EO_OK; i++) {
                char ik[24];
                const char *kp;
                size_t kl = bson_uint32_to_string((uint32_t)(i - 1), &kp, ik, sizeof ik);
                lua_rawgeti(L, idx, i);
                rc = append(&child, kp, (int)kl, L, -1, depth + 1, err);
                lua_pop(L, 1);
            }
            bson_append_array_end(doc, &child);
            return rc;
        }
        bson_append_document_begin(doc, key, klen, &child);
        lua_pushnil(L);
        while (rc == EO_OK && lua_next(L, idx)) {
            size_t kl;
            const char *k;
            char kbuf[64];
            int kt = lua_type(L, -2);
            if (kt == LUA_TSTRING) {
                k = lua_tolstring(L, -2, &kl);
            } else if (kt == LUA_TNUMBER) {
                /* format a copy: converting the key in place would confuse lua_next */
                if (lua_isinteger(L, -2))
                    snprintf(kbuf, sizeof kbuf, "%lld", (long long)lua_tointeger(L, -2));
                else
                    snprintf(kbuf, sizeof kbuf, "%.17g", lua_tonumber(L, -2));
                k = kbuf;
                kl = strlen(kbuf);
            } else {
                rc = eo_error_set(err, EO_EINVAL, "JSON: object keys must be strings, got a %s",
                                  luaL_typename(L, -2));
                lua_pop(L, 2);
                break;
            }
            rc = append(&child, k, (int)kl, L, -1, depth + 1, err);
            lua_pop(L, 1);
        }
        bson_append_document_end(doc, &child);
        return rc;
    }
    default:
        return eo_error_set(err, EO_EINVAL, "JSON: cannot encode a %s", luaL_typename(L, idx));
    }
}

int eo_lua_json_encode(lua_State *L, int idx, char **out, size_t *len, eo_error *err)
{
    bson_t doc;
    char *json;
    size_t n;
    int rc;
    *out = NULL;
    bson_init(&doc);
    rc = append(&doc, "v", 1, L, idx, 0, err);
    if (rc != EO_OK) {
        bson_destroy(&doc);
        return rc;
    }
    json = bson_as_relaxed_extended_json(&doc, &n);
    bson_destroy(&doc);
    if (json == NULL)
        return eo_error_set(err, EO_EINVAL, "JSON: the value cannot be represented");
    /* strip the wrapper: { "v" : ... } */
    if (n < 10 || strncmp(json, "{ \"v\" : ", 8) != 0) {
        bson_free(json);
        return eo_error_set(err, EO_ERROR, "JSON: unexpected encoder output");
    }
    *len = n - 10;
    *out = eo_strndup(json + 8, *len);
    bson_free(json);
    return *out ? EO_OK : eo_error_set(err, EO_ENOMEM, "out of memory");
}

static void push_iter(lua_State *L, bson_iter_t *it, int null_sentinel);

static void push_doc(lua_State *L, bson_iter_t *it, int array, int null_sentinel)
{
    bson_iter_t child;
    lua_Integer i = 0;
    luaL_checkstack(L, 4, "JSON nested too deeply");
    lua_newtable(L);
    if (!bson_iter_recurse(it, &child))
        return;
    while (bson_iter_next(&child)) {
        if (array) {
            push_iter(L, &child, 1);
            lua_rawseti(L, -2, ++i);
        } else {
            if (BSON_ITER_HOLDS_NULL(&child) && !null_sentinel)
                continue;
            push_iter(L, &child, null_sentinel);
            lua_setfield(L, -2, bson_iter_key(&child));
        }
    }
}

static void push_iter(lua_State *L, bson_iter_t *it, int null_sentinel)
{
    uint32_t len;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8: {
        const char *s = bson_iter_utf8(it, &len);
        lua_pushlstring(L, s, len);
        break;
    }
    case BSON_TYPE_INT32: lua_pushinteger(L, bson_iter_int32(it)); break;
    case BSON_TYPE_INT64: lua_pushinteger(L, (lua_Integer)bson_iter_int64(it)); break;
    case BSON_TYPE_DOUBLE: lua_pushnumber(L, bson_iter_double(it)); break;
    case BSON_TYPE_BOOL: lua_pushboolean(L, bson_iter_bool(it)); break;
    case BSON_TYPE_NULL:
        if (null_sentinel)
            eo_lua_push_null(L);
        else
            lua_pushnil(L);
        break;
    case BSON_TYPE_DOCUMENT: push_doc(L, it, 0, null_sentinel); break;
    case BSON_TYPE_ARRAY: push_doc(L, it, 1, null_sentinel); break;
    case BSON_TYPE_BINARY: {
        const uint8_t *data;
        bson_subtype_t st;
        bson_iter_binary(it, &st, &len, &data);
        lua_pushlstring(L, (const char *)data, len);
        break;
    }
    case BSON_TYPE_DATE_TIME: {
        int64_t ms = bson_iter_date_time(it);
        time_t secs = (time_t)(ms / 1000);
        struct tm tm;
        char buf[40];
        gmtime_r(&secs, &tm);
        strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
        lua_pushstring(L, buf);
        break;
    }
    case BSON_TYPE_OID: {
        char hex[25];
        bson_oid_to_string(bson_iter_oid(it), hex);
        lua_pushstring(L, hex);
        break;
    }
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t d;
        char buf[BSON_DECIMAL128_STRING];
        bson_iter_decimal128(it, &d);
        bson_decimal128_to_string(&d, buf);
        lua_pushstring(L, buf);
        break;
    }
    default: lua_pushnil(L); break;
    }
}

static int decode(lua_State *L, const char *text, size_t len, int null_sentinel, eo_error *err)
{
    bson_t *doc;
    bson_error_t berr;
    bson_iter_t it;
    char *wrapped = eo_malloc(len + 8);
    if (wrapped == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    memcpy(wrapped, "{\"v\":", 5);
    memcpy(wrapped + 5, text, len);
    wrapped[len + 5] = '}';
    doc = bson_new_from_json((const uint8_t *)wrapped, (ssize_t)len + 6, &berr);
    eo_free(wrapped);
    if (doc == NULL) {
        eo_error_set(err, EO_EINVAL, "invalid JSON: %s", berr.message);
        if (err)
            err->domain = EO_DOMAIN_JSON;
        return EO_EINVAL;
    }
    if (!bson_iter_init_find(&it, doc, "v")) {
        bson_destroy(doc);
        return eo_error_set(err, EO_EINVAL, "invalid JSON: no value");
    }
    if (!lua_checkstack(L, 8)) {
        bson_destroy(doc);
        return eo_error_set(err, EO_ENOMEM, "Lua stack exhausted");
    }
    push_iter(L, &it, null_sentinel);
    bson_destroy(doc);
    return EO_OK;
}

int eo_lua_json_decode(lua_State *L, const char *text, size_t len, eo_error *err)
{
    return decode(L, text, len, 1, err);
}

int eo_lua_push_json_any(lua_State *L, const char *text, size_t len, eo_error *err)
{
    return decode(L, text, len, 1, err);
}

static int l_json_encode(lua_State *L)
{
    char *json;
    size_t len;
    eo_error err;
    luaL_checkany(L, 1);
    if (eo_lua_json_encode(L, 1, &json, &len, &err) != EO_OK)
        return eo_lua_raise(L, &err);
    lua_pushlstring(L, json, len);
    eo_free(json);
    return 1;
}

static int l_json_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    eo_error err;
    if (eo_lua_json_decode(L, s, len, &err) != EO_OK)
        return eo_lua_raise(L, &err);
    if (eo_lua_is_null(L, -1)) {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
    return 1;
}

void eo_lua_open_values(lua_State *L)
{
    eo_lua_push_null(L);
    lua_setfield(L, -2, "null");
    lua_pushcfunction(L, l_json_encode);
    lua_setfield(L, -2, "json_encode");
    lua_pushcfunction(L, l_json_decode);
    lua_setfield(L, -2, "json_decode");
}
