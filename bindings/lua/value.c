/*
 * value.c - Lua values <-> eo_value, orm.null, and Lua values <-> JSON.
 *
 * Conversions to C never raise: they report through eo_error so callers
 * can release what they hold first. Strings are Borrowed from Lua (the
 * values are on the stack for the whole call); text made here (JSON of a
 * Json field) lives in an eo_lua_scratch until the call ends.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eo_lua.h"

#include "earnorm/embedded.h"
#include "util/json.h"

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

/* A record as a Reference value: "model,id" (id: the value *v holds). */
int eo_lua__reference_text(const eo_model *m, eo_value *v, eo_lua_scratch *s, eo_error *err)
{
    size_t cap = strlen(m->name) + 32;
    char *p = eo_lua_scratch_keep(s, eo_malloc(cap));
    int n;
    if (p == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    if (v->type == EO_VINT)
        n = snprintf(p, cap, "%s,%lld", m->name, (long long)v->u.i);
    else
        n = snprintf(p, cap, "%s,%.*s", m->name, (int)v->u.s.n, v->u.s.p);
    *v = eo_text(p, (size_t)n);
    return EO_OK;
}

/* A recordset is a value only for a Many2one to its own model (or for a
 * Reference, to one of its models: conversion checks which). */
static int check_record_for(lua_State *L, int idx, const eo_field *f, eo_error *err)
{
    const eo_model *rm = eo_lua__recordset_model(L, idx);
    if (f == NULL || rm == NULL || f->type == EO_FT_REFERENCE)
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

static int plain_copy(lua_State *L)
{
    eo_lua__embedded_plain(L, 1);
    return 1;
}

/* An Embedded or List value: the JSON of the table (value objects
 * unwrapped), made canonical by the core (embedded.h); false is NULL. */
static int embedded_value(lua_State *L, int idx, const eo_field *f, eo_lua_scratch *s,
                          eo_value *out, eo_error *err)
{
    char *json = NULL, *canon = NULL;
    size_t len, clen = 0;
    int rc;
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TBOOLEAN && !lua_toboolean(L, idx))
        return EO_OK;
    if (lua_type(L, idx) != LUA_TTABLE && lua_type(L, idx) != LUA_TUSERDATA) {
        eo_error_set(err, EO_EINVAL, "%s.%s: expected a table for a%s %s field, got a %s",
                     f->model->name, f->name, f->type == EO_FT_EMBEDDED ? "n" : "",
                     eo_ftype_name(f->type), luaL_typename(L, idx));
        eo_error_where(err, f->model->name, f->name);
        return EO_EINVAL;
    }
    /* protected: building the plain copy allocates, and this never raises */
    if (!lua_checkstack(L, 8))
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    lua_pushcfunction(L, plain_copy);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        eo_error_set(err, EO_EINVAL, "%s.%s: expected a table for a%s %s field, got a %s",
                     f->model->name, f->name, f->type == EO_FT_EMBEDDED ? "n" : "",
                     eo_ftype_name(f->type), luaL_typename(L, idx));
        eo_error_where(err, f->model->name, f->name);
        return EO_EINVAL;
    }
    rc = eo_lua_json_encode(L, -1, &json, &len, err);
    lua_pop(L, 1);
    if (rc != EO_OK)
        return rc;
    rc = eo_embedded_normalize(&canon, &clen, f, json, len, err);
    eo_free(json);
    if (rc != EO_OK)
        return rc;
    if (eo_lua_scratch_keep(s, canon) == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    *out = eo_text(canon, clen);
    return EO_OK;
}

int eo_lua_to_value(lua_State *L, int idx, const eo_field *f, eo_idkind kind, eo_lua_scratch *s,
                    eo_value *out, eo_error *err)
{
    int t = lua_type(L, idx);
    *out = eo_null();
    if (eo_lua_is_null(L, idx) || t == LUA_TNIL)
        return EO_OK;
    if (f && (f->type == EO_FT_EMBEDDED || f->type == EO_FT_LIST))
        return embedded_value(L, idx, f, s, out, err);
    if ((f && eo_ftype_base(f->type) == EO_FT_JSON) || (f == NULL && t == LUA_TTABLE)) {
        /* Json fields take any value; elsewhere a table is data to match
         * literally, never an operator: keep its JSON text */
        char *json;
        size_t len;
        int rc;
        if (t == LUA_TUSERDATA && f == NULL)
            goto userdata;
        if ((rc = eo_lua_json_encode_max(L, idx,
                                         s && s->json_room ? *s->json_room : EO_LUA_JSON_MAX_TEXT,
                                         s ? &s->json_over : NULL, &json, &len, err)) != EO_OK)
            return rc;
        if (s && s->json_room)
            *s->json_room -= len;
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
        if (f && f->type == EO_FT_REFERENCE && out->type != EO_VNULL)
            return eo_lua__reference_text(eo_lua__recordset_model(L, idx), out, s, err);
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

/* ---- JSON ----
 *
 * Plain JSON both ways, taken literally: no key or value has a meaning of
 * its own ({"$date": 0} is an object with the key "$date"). Reading uses
 * the core's strict reader (util/json.h: no NaN, no Infinity, numbers that
 * fit a double, nesting up to EO_JSON_MAX_DEPTH); writing is done here,
 * since libbson's writer gives NaN and bytes extended-JSON wrappers and
 * cuts values nested past 200 levels down to "{ ... }" without an error.
 *
 * Lua tables and JSON:
 *   - keys 1..n (n > 0) and nothing else: an array;
 *   - string keys only: an object;
 *   - empty: an array, unless it carries the object mark (orm.json.object,
 *     or decoded from "{}"): in the ORM every empty collection is a list
 *     (ids, rows, domains, x2many values), and "{}" read back stays "{}";
 *   - anything else (list items and keys mixed, holes, other keys, cycles,
 *     nesting past the limit) is an error naming the path, never a guess.
 * Integers are integers, floats keep a fraction or exponent ("3.0"), so a
 * value read back has the Lua type it was written with. JSON null is
 * orm.null inside arrays and objects (a Lua table cannot hold nil).
 */

static const char array_mark = 'a';   /* registry keys of the two marks */
static const char object_mark = 'o';

/* Push the metatable marking an empty table as a JSON array or object. */
static void push_mark(lua_State *L, const char *key)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 2);
        lua_pushstring(L, key == &array_mark ? "earnorm.json.array" : "earnorm.json.object");
        lua_setfield(L, -2, "__name");
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, key);
    }
}

/* Whether the table at idx carries the object mark (no allocation). */
static int has_object_mark(lua_State *L, int idx)
{
    int r;
    if (!lua_getmetatable(L, idx))
        return 0;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &object_mark);
    r = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return r;
}

/* recordset.c: the ids of the recordset at idx, without pushing anything;
 * 1 when idx is an open recordset */
int eo_lua__recordset_idlist(lua_State *L, int idx, const eo_id **ids, size_t *n,
                             eo_idkind *kind);

#define PATH_CAP 160

typedef struct writer {
    lua_State *L;
    eo_buf out;
    int host;                            /* C API output: bytes as {"$binary"} */
    int max_depth;
    const void *seen[EO_JSON_MAX_DEPTH + 8]; /* the tables being written (cycles) */
    char path[PATH_CAP];
    size_t plen;
    size_t budget;                       /* bytes the text may reach */
    int budget_vm;                       /* the budget is the VM's memory limit */
    int over;                            /* the text went past a budget not the VM's */
    unsigned steps;                      /* values written, for polling the deadline */
    eo_error *err;
} writer;

static int wfail(writer *w, int code, const char *what)
{
    eo_error_set(w->err, code, "JSON: %s %s", w->plen ? w->path : "the value", what);
    if (w->err)
        w->err->domain = EO_DOMAIN_JSON;
    return code;
}

/* Path segments for error messages: .key or [i] (Lua indices). */
static size_t path_push(writer *w, const char *key, size_t klen, lua_Integer i)
{
    size_t old = w->plen;
    int n;
    if (old >= PATH_CAP - 8)
        return old;
    if (key)
        n = snprintf(w->path + old, PATH_CAP - old, "%s%.*s", old ? "." : "",
                     (int)(klen > 40 ? 40 : klen), key);
    else
        n = snprintf(w->path + old, PATH_CAP - old, "%s[%lld]", old ? "" : "item ", (long long)i);
    if (n > 0)
        w->plen = old + (size_t)n < PATH_CAP ? old + (size_t)n : PATH_CAP - 1;
    return old;
}

static void path_pop(writer *w, size_t old)
{
    w->plen = old;
    w->path[old] = '\0';
}

static int text_ok(const char *s, size_t n)
{
    return memchr(s, '\0', n) == NULL && eo_utf8__check(s, n, NULL) == 0;
}

static void put_string(eo_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;
    eo_buf__putc(b, '"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        eo_buf__put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            memcpy(u, "\\u00", 4);
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            u[6] = '\0';
            esc = u;
        }
        eo_buf__puts(b, esc);
    }
    eo_buf__put(b, s + run, n - run);
    eo_buf__putc(b, '"');
}

static void put_base64(eo_buf *b, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        char q[4] = { tab[p[i] >> 2], tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
                      tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)], tab[p[i + 2] & 63] };
        eo_buf__put(b, q, 4);
    }
    if (n - i == 1) {
        char q[4] = { tab[p[i] >> 2], tab[(p[i] & 3) << 4], '=', '=' };
        eo_buf__put(b, q, 4);
    } else if (n - i == 2) {
        char q[4] = { tab[p[i] >> 2], tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
                      tab[(p[i + 1] & 15) << 2], '=' };
        eo_buf__put(b, q, 4);
    }
}

/* The shortest text that reads back as d, with a fraction or an exponent
 * so that it reads back as a float. Whole numbers that an integer could
 * hold are written out in full with ".0" (1e16 as 10000000000000000.0):
 * PostgreSQL's jsonb writes exponents out in digits, and "1e+16" would
 * come back as the integer 10000000000000000. */
static void put_double(eo_buf *b, double d)
{
    char buf[40];
    int prec;
    if (d == floor(d) && fabs(d) < 9.2e18) {
        snprintf(buf, sizeof buf, "%.1f", d);
        eo_buf__puts(b, buf);
        return;
    }
    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (strpbrk(buf, ".eE") == NULL)
        strcat(buf, ".0");
    eo_buf__puts(b, buf);
}

static int write_value(writer *w, int idx, int depth);

static int write_ids(writer *w, const eo_id *ids, size_t n, eo_idkind kind)
{
    size_t i;
    eo_buf__putc(&w->out, '[');
    for (i = 0; i < n; i++) {
        char hex[25];
        eo_value v = eo_id_to_value(ids[i], kind, hex);
        if (i)
            eo_buf__putc(&w->out, ',');
        if (v.type == EO_VINT)
            eo_buf__put_int(&w->out, v.u.i);
        else
            put_string(&w->out, v.u.s.p, v.u.s.n);
    }
    eo_buf__putc(&w->out, ']');
    return EO_OK;
}

static int write_table(writer *w, int idx, int depth)
{
    lua_State *L = w->L;
    lua_Integer nint = 0, maxint = 0, i;
    size_t nstr = 0, old;
    const void *self = lua_topointer(L, idx);
    int k, rc = EO_OK, first = 1;
    for (k = 0; k < depth; k++)
        if (w->seen[k] == self)
            return wfail(w, EO_EINVAL, "contains itself (a cycle): JSON cannot hold it");
    w->seen[depth] = self;
    /* classify by the keys (raw: metatables are not consulted) */
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            nstr++;
        } else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0) {
            nint++;
            if (lua_tointeger(L, -1) > maxint)
                maxint = lua_tointeger(L, -1);
        } else {
            char what[96];
            snprintf(what, sizeof what, "has a %s key (%s): JSON object keys are strings",
                     lua_isinteger(L, -1) ? "non-positive integer" : luaL_typename(L, -1),
                     lua_type(L, -1) == LUA_TNUMBER || lua_type(L, -1) == LUA_TBOOLEAN
                         ? (lua_type(L, -1) == LUA_TBOOLEAN ? (lua_toboolean(L, -1) ? "true" : "false")
                                                             : "a number")
                         : "not a string");
            lua_pop(L, 1);
            return wfail(w, EO_EINVAL, what);
        }
    }
    if (nint && nstr) {
        char what[128];
        snprintf(what, sizeof what, "mixes list items (%lld) and named keys (%zu): a JSON value "
                 "is a list or an object", (long long)nint, nstr);
        return wfail(w, EO_EINVAL, what);
    }
    if (nint && maxint != nint) {
        char what[128];
        snprintf(what, sizeof what, "is a list with holes (%lld items, last index %lld): fill "
                 "them with orm.null", (long long)nint, (long long)maxint);
        return wfail(w, EO_EINVAL, what);
    }
    if (nint || (nstr == 0 && !has_object_mark(L, idx))) {
        eo_buf__putc(&w->out, '[');
        for (i = 1; i <= nint && rc == EO_OK; i++) {
            if (i > 1)
                eo_buf__putc(&w->out, ',');
            lua_rawgeti(L, idx, i);
            old = path_push(w, NULL, 0, i);
            rc = write_value(w, lua_gettop(L), depth + 1);
            path_pop(w, old);
            lua_pop(L, 1);
        }
        eo_buf__putc(&w->out, ']');
        return rc;
    }
    eo_buf__putc(&w->out, '{');
    lua_pushnil(L);
    while (rc == EO_OK && lua_next(L, idx)) {
        size_t kl;
        const char *key = lua_tolstring(L, -2, &kl); /* a string: no conversion in place */
        if (!text_ok(key, kl)) {
            lua_pop(L, 2);
            return wfail(w, EO_EINVAL, "has a key that is not UTF-8 text (or holds a NUL byte)");
        }
        if (!first)
            eo_buf__putc(&w->out, ',');
        first = 0;
        put_string(&w->out, key, kl);
        eo_buf__putc(&w->out, ':');
        old = path_push(w, key, kl, 0);
        rc = write_value(w, lua_gettop(L), depth + 1);
        path_pop(w, old);
        lua_pop(L, 1);
    }
    if (rc != EO_OK) {
        lua_pop(L, 1); /* the key lua_next left */
        return rc;
    }
    eo_buf__putc(&w->out, '}');
    return EO_OK;
}

static int over_budget(writer *w)
{
    char what[160];
    if (w->budget_vm) {
        snprintf(what, sizeof what, "is larger than the VM's memory limit (%zu bytes) as JSON text",
                 w->budget);
        return wfail(w, EO_ENOMEM, what);
    }
    snprintf(what, sizeof what,
             "is larger than %zu bytes as JSON text (a table used in several places is written "
             "each time)",
             w->budget);
    w->over = 1;
    return wfail(w, EO_ELIMIT, what);
}

static int write_value(writer *w, int idx, int depth)
{
    lua_State *L = w->L;
    /*
     * A table may be used in many places (thirty levels of {t, t} is 2^30
     * leaves): the text is C memory the VM does not count, so it is held
     * to the VM's memory limit, and the writer polls the deadline.
     */
    if (w->out.len > w->budget)
        return over_budget(w);
    if ((++w->steps & 4095u) == 0 && eo_deadline__passed())
        return wfail(w, EO_ETIMEOUT, "took longer than the call's time limit to write as JSON");
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        eo_buf__puts(&w->out, "null");
        return EO_OK;
    case LUA_TBOOLEAN:
        eo_buf__puts(&w->out, lua_toboolean(L, idx) ? "true" : "false");
        return EO_OK;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            eo_buf__put_int(&w->out, (int64_t)lua_tointeger(L, idx));
        } else {
            double d = lua_tonumber(L, idx);
            if (d != d)
                return wfail(w, EO_EINVAL, "is NaN: JSON has no NaN or Infinity");
            if (d == HUGE_VAL || d == -HUGE_VAL)
                return wfail(w, EO_EINVAL, "is infinite: JSON has no NaN or Infinity");
            put_double(&w->out, d);
        }
        return EO_OK;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (text_ok(s, n)) {
            put_string(&w->out, s, n);
            return EO_OK;
        }
        if (!w->host)
            return wfail(w, EO_EINVAL, memchr(s, '\0', n)
                                           ? "holds a NUL byte: JSON text here cannot hold one"
                                           : "is not UTF-8 text: JSON strings are text");
        /* bytes JSON text cannot hold (a Binary value): documented in c-api.md */
        eo_buf__puts(&w->out, "{\"$binary\":{\"base64\":\"");
        put_base64(&w->out, (const unsigned char *)s, n);
        eo_buf__puts(&w->out, "\",\"subType\":\"00\"}}");
        return EO_OK;
    }
    case LUA_TUSERDATA: {
        const eo_id *ids;
        size_t n;
        eo_idkind kind;
        if (eo_lua_is_null(L, idx)) {
            eo_buf__puts(&w->out, "null");
            return EO_OK;
        }
        if (eo_lua__recordset_idlist(L, idx, &ids, &n, &kind))
            return write_ids(w, ids, n, kind);
        return wfail(w, EO_EINVAL, "is a userdata: JSON cannot hold it");
    }
    case LUA_TTABLE:
        if (depth >= w->max_depth) {
            char what[64];
            snprintf(what, sizeof what, "is nested more than %d levels deep", w->max_depth);
            return wfail(w, EO_ELIMIT, what);
        }
        if (!lua_checkstack(L, 4))
            return wfail(w, EO_ENOMEM, "cannot be written: the Lua stack is exhausted");
        return write_table(w, idx, depth);
    default: {
        char what[64];
        snprintf(what, sizeof what, "is a %s: JSON cannot hold it", luaL_typename(L, idx));
        return wfail(w, EO_EINVAL, what);
    }
    }
}

/* max: the bytes the text may reach (SIZE_MAX: the VM's memory limit
 * alone); *over (when given) says whether max was what stopped it. */
static int encode(lua_State *L, int idx, int host, size_t max, int *over, char **out, size_t *len,
                  eo_error *err)
{
    writer *w = eo_calloc(1, sizeof *w);
    int rc;
    *out = NULL;
    if (len)
        *len = 0;
    if (w == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory writing JSON");
    w->L = L;
    w->host = host;
    /* C API results wrap values in a few levels of their own (rows, lists) */
    w->max_depth = EO_JSON_MAX_DEPTH + (host ? 4 : 0);
    w->err = err;
    {
        eo_vm *vm = eo_lua_vm(L);
        size_t limit = vm ? eo_vm_memory_limit(vm) : 0;
        w->budget = limit ? limit : (size_t)-1;
        w->budget_vm = 1;
        if (max < w->budget) {
            w->budget = max;
            w->budget_vm = 0;
        }
    }
    rc = write_value(w, lua_absindex(L, idx), 0);
    if (rc == EO_OK && w->out.len > w->budget)
        rc = over_budget(w);
    if (rc == EO_OK && w->out.oom)
        rc = eo_error_set(err, EO_ENOMEM, "out of memory writing JSON");
    if (rc == EO_OK) {
        if (len)
            *len = w->out.len;
        *out = eo_buf__detach(&w->out);
        if (*out == NULL)
            *out = eo_strdup("");
        if (*out == NULL)
            rc = eo_error_set(err, EO_ENOMEM, "out of memory writing JSON");
    }
    if (over)
        *over = w->over;
    eo_buf__free(&w->out);
    eo_free(w);
    return rc;
}

int eo_lua_rows_over_limit(eo_vm *vm, eo_error *err)
{
    size_t limit = vm ? eo_vm_memory_limit(vm) : 0;
    if (limit == 0 || eo_vm_memory(vm) <= limit)
        return EO_OK;
    return eo_error_set(err, EO_ENOMEM,
                        "the result does not fit in the VM's memory limit (%zu bytes)", limit);
}

int eo_lua_json_encode(lua_State *L, int idx, char **out, size_t *len, eo_error *err)
{
    return encode(L, idx, 0, EO_LUA_JSON_MAX_TEXT, NULL, out, len, err);
}

int eo_lua_json_encode_max(lua_State *L, int idx, size_t max, int *over, char **out, size_t *len,
                           eo_error *err)
{
    return encode(L, idx, 0, max, over, out, len, err);
}

int eo_lua__json_encode_host(lua_State *L, int idx, char **out, size_t *len, eo_error *err);
int eo_lua__json_encode_host(lua_State *L, int idx, char **out, size_t *len, eo_error *err)
{
    return encode(L, idx, 1, SIZE_MAX, NULL, out, len, err);
}

/*
 * Reading. The core's reader reports values to a sink; the sink records
 * them on a tape (C memory) and the Lua values are built from the tape
 * afterwards. Building can raise (the VM's memory limit): the tape is then
 * owned by a guard userdata whose __gc frees it, and the reader, which
 * keeps C memory of its own while it runs, has already returned.
 */

enum { T_ARRAY = 'a', T_OBJECT = 'o', T_END = 'e', T_KEY = 'k', T_STR = 's', T_INT = 'i',
       T_NUM = 'd', T_TRUE = 't', T_FALSE = 'f', T_NULL = 'n' };

typedef struct tape {
    eo_buf b;
} tape;

static int tape_put(tape *t, char tag, const void *p, size_t n)
{
    eo_buf__putc(&t->b, tag);
    if (p)
        eo_buf__put(&t->b, p, n);
    return t->b.oom ? -2 : 0;
}

static int tape_str(tape *t, char tag, const char *s, size_t n)
{
    eo_buf__putc(&t->b, tag);
    eo_buf__put(&t->b, (const char *)&n, sizeof n);
    eo_buf__put(&t->b, s, n);
    return t->b.oom ? -2 : 0;
}

static int s_begin(void *ud, int array, int depth)
{
    (void)depth;
    return tape_put(ud, array ? T_ARRAY : T_OBJECT, NULL, 0);
}
static int s_end(void *ud, int array)
{
    (void)array;
    return tape_put(ud, T_END, NULL, 0);
}
static int s_key(void *ud, const char *k, size_t n) { return tape_str(ud, T_KEY, k, n); }
static int s_string(void *ud, const char *s, size_t n) { return tape_str(ud, T_STR, s, n); }
static int s_integer(void *ud, int64_t i) { return tape_put(ud, T_INT, &i, sizeof i); }
static int s_number(void *ud, double d) { return tape_put(ud, T_NUM, &d, sizeof d); }
static int s_boolean(void *ud, int b) { return tape_put(ud, b ? T_TRUE : T_FALSE, NULL, 0); }
static int s_null(void *ud) { return tape_put(ud, T_NULL, NULL, 0); }

static const eo_json_sink tape_sink = { s_begin, s_end, s_key, s_string,
                                        s_integer, s_number, s_boolean, s_null, NULL };

static int tape_gc(lua_State *L)
{
    tape *t = lua_touserdata(L, 1);
    if (t)
        eo_buf__free(&t->b);
    return 0;
}

/* Build the Lua value of the tape; raises only on a memory error.
 * Returns EO_OK or an error filled in err (a duplicate key). */
static int build(lua_State *L, const tape *t, eo_error *err)
{
    const char *p = t->b.p, *end = t->b.p + t->b.len;
    lua_Integer count[EO_JSON_MAX_DEPTH + 1];
    char kind[EO_JSON_MAX_DEPTH + 1];
    int depth = 0, base = lua_gettop(L);
    if (!lua_checkstack(L, 2 * EO_JSON_MAX_DEPTH + 8))
        return eo_error_set(err, EO_ENOMEM, "JSON: the Lua stack is exhausted");
    while (p < end) {
        char tag = *p++;
        size_t n;
        switch (tag) {
        case T_ARRAY:
        case T_OBJECT:
            lua_newtable(L);
            kind[++depth] = tag;
            count[depth] = 0;
            continue; /* not a value yet: its items come first */
        case T_END:
            if (count[depth] == 0) {
                /* "[]" and "{}" are written back as they were read */
                push_mark(L, kind[depth] == T_ARRAY ? &array_mark : &object_mark);
                lua_setmetatable(L, -2);
            }
            depth--;
            break;
        case T_KEY:
            memcpy(&n, p, sizeof n);
            p += sizeof n;
            lua_pushlstring(L, p, n);
            p += n;
            lua_pushvalue(L, -1);
            if (lua_rawget(L, -3) != LUA_TNIL) {
                eo_error_set(err, EO_EINVAL, "invalid JSON: the key \"%.*s\" appears twice in an object",
                             (int)(n > 60 ? 60 : n), p - n);
                if (err)
                    err->domain = EO_DOMAIN_JSON;
                lua_settop(L, base);
                return EO_EINVAL;
            }
            lua_pop(L, 1);
            continue; /* the value follows */
        case T_STR:
            memcpy(&n, p, sizeof n);
            p += sizeof n;
            lua_pushlstring(L, p, n);
            p += n;
            break;
        case T_INT: {
            int64_t i;
            memcpy(&i, p, sizeof i);
            p += sizeof i;
            lua_pushinteger(L, (lua_Integer)i);
            break;
        }
        case T_NUM: {
            double d;
            memcpy(&d, p, sizeof d);
            p += sizeof d;
            lua_pushnumber(L, d);
            break;
        }
        case T_TRUE: lua_pushboolean(L, 1); break;
        case T_FALSE: lua_pushboolean(L, 0); break;
        default: eo_lua_push_null(L); break;
        }
        /* a value is on top: put it in its container */
        if (depth > 0) {
            count[depth]++;
            if (kind[depth] == T_ARRAY)
                lua_rawseti(L, -2, count[depth]);
            else
                lua_rawset(L, -3);
        }
    }
    return EO_OK;
}

static int decode(lua_State *L, const char *text, size_t len, eo_error *err)
{
    tape *t;
    eo_json_fail fail;
    int rc;
    /* stack: ... guard. Each read has its own tape: building allocates, an
     * allocation can run a finalizer, and a finalizer can read JSON too. */
    t = lua_newuserdatauv(L, sizeof *t, 0);
    memset(t, 0, sizeof *t);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &tape_sink) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 1);
        lua_pushcfunction(L, tape_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &tape_sink);
    }
    lua_setmetatable(L, -2);
    memset(&fail, 0, sizeof fail);
    rc = eo_json__read(text, len, &tape_sink, t, &fail);
    if (rc != 0) {
        eo_buf__free(&t->b);
        lua_pop(L, 1);
        if (rc == -2)
            return eo_error_set(err, EO_ENOMEM, "out of memory reading JSON");
        if (fail.limit)
            rc = eo_error_set(err, EO_ELIMIT, "JSON nested more than %d levels deep (at byte %zu)",
                              EO_JSON_MAX_DEPTH, fail.at);
        else
            rc = eo_error_set(err, EO_EINVAL, "invalid JSON at byte %zu: %s", fail.at,
                              fail.why ? fail.why : "unreadable");
        if (err)
            err->domain = EO_DOMAIN_JSON;
        return rc;
    }
    /* building can raise (memory): the guard's __gc frees the tape then */
    rc = build(L, t, err);
    eo_buf__free(&t->b);
    if (rc != EO_OK) {
        lua_pop(L, 1);
        return rc;
    }
    lua_remove(L, -2); /* the guard */
    return EO_OK;
}

int eo_lua_json_decode(lua_State *L, const char *text, size_t len, eo_error *err)
{
    return decode(L, text, len, err);
}

int eo_lua_push_json_any(lua_State *L, const char *text, size_t len, eo_error *err)
{
    int rc = decode(L, text, len, err);
    if (rc == EO_OK && eo_lua_is_null(L, -1)) {
        /* a top-level null is nil, as an absent argument */
        lua_pop(L, 1);
        lua_pushnil(L);
    }
    return rc;
}

static int l_json_encode(lua_State *L)
{
    char *json;
    size_t len;
    eo_error err;
    luaL_checkany(L, 1);
    if (eo_lua_json_encode(L, 1, &json, &len, &err) != EO_OK)
        return eo_lua_raise(L, &err);
    /* the text is C memory: push it under the limit's pause, then check */
    eo_lua_critical(L, 1);
    lua_pushlstring(L, json, len);
    eo_lua_critical(L, -1);
    eo_free(json);
    eo_lua_check_memory(L);
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

/* core.json_mark(t, "array"|"object") -> t: how an empty t is written */
static int l_json_mark(lua_State *L)
{
    static const char *const kinds[] = { "array", "object", NULL };
    int k;
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 2);
        lua_newtable(L);
        lua_replace(L, 1);
    }
    if (!lua_istable(L, 1))
        return eo_lua_raisef(L, EO_EINVAL, NULL, NULL, "orm.json.%s expects a table or nothing, got a %s",
                             lua_tostring(L, 2) ? lua_tostring(L, 2) : "object", luaL_typename(L, 1));
    k = luaL_checkoption(L, 2, NULL, kinds);
    if (lua_getmetatable(L, 1)) {
        lua_pop(L, 1);
        return eo_lua_raisef(L, EO_EINVAL, NULL, NULL,
                             "orm.json.%s: the table already has a metatable", kinds[k]);
    }
    push_mark(L, k == 0 ? &array_mark : &object_mark);
    lua_setmetatable(L, 1);
    lua_settop(L, 1);
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
    lua_pushcfunction(L, l_json_mark);
    lua_setfield(L, -2, "json_mark");
}
