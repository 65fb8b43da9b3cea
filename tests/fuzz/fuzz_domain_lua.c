/*
 * fuzz_domain_lua.c - domains from Lua tables (eo_lua_to_domain, what
 * env[model]:search{...} reads), then the pipeline of fuzz.h.
 *
 * The input is not Lua source: it is a small byte code that builds the
 * table directly with the C API, so every input is a table and the fuzzer
 * spends its time on the domain code, not on the Lua parser. Byte 0 holds
 * flags (bit 0: ObjectId ids as on MongoDB). Then each byte is an
 * instruction (its value modulo 16), some followed by operand bytes; a
 * missing operand reads as 0. The root table is open from the start, and
 * whatever is still open at the end is closed into its parent.
 *
 *   0 OPEN          start a table nested in the current one
 *   1 CLOSE         end the current table (append it to its parent)
 *   2 FIELD i       append field name i (fz.item's, dotted paths, unknown)
 *   3 OPER i        append operator text i (all of them and some bad ones)
 *   4 LOGIC i       append "&", "|" or "!" (i % 3)
 *   5 INT 8 bytes   append an integer (little endian)
 *   6 SMALL i       append the integer i - 8 (ids, small numbers)
 *   7 FLOAT 8 bytes append a float (any bits: NaN, infinities)
 *   8 BOOL i        append i & 1 as a boolean
 *   9 NULL          append orm.null
 *  10 STR n bytes   append the next n bytes as a string
 *  11 LEAF f o v    append {field f, operator o, canned value v}
 *  12 KEY i         put a key that is not a list index (string, 0, -1,
 *                   1.5, a hole past the end, a table) in the current table
 *  13 DUP           append the current table's last element again
 *  14 REPEAT n      do the next instruction n + 1 times (not another REPEAT)
 *  15 LIST n        append a table of n % 8 canned values
 *
 * Corpus: tests/fuzz/corpus/domain_lua (ok-*.bin, err-*.bin, written by
 * gen-deep.py --seeds); the deep inputs are generated the same way.
 */
#include <string.h>

#include "eo_lua.h"
#include "fuzz.h"

#define MAX_OPEN 200000 /* nested tables at once (the Lua stack holds them) */

/* Field paths: fz.item's fields, dotted paths, and names that must fail. */
#define S(lit) { lit, sizeof lit - 1 }
static const struct {
    const char *s;
    size_t n;
} fields[] = {
    S("name"), S("code"), S("notes"), S("qty"), S("ratio"), S("active"), S("day"), S("at"),
    S("state"), S("data"), S("price"), S("blob"), S("label"), S("parent_id"), S("child_ids"),
    S("tag_id"), S("tag_ids"), S("id"), S("parent_id.name"), S("parent_id.parent_id.qty"),
    S("child_ids.qty"), S("tag_ids.name"), S("tag_id.parent_id.name"), S("tag_ids.parent_id"),
    S("nosuch"), S(""), S("name.x"), S("qty."), S(".name"), S("parent_id..name"), S("Name"),
    S("name\0x"),
};
#undef S

static const char *const opers[] = {
    "=", "!=", ">", ">=", "<", "<=", "in", "not in", "like", "ilike", "not like",
    "not ilike", "=like", "=ilike", "child_of", "parent_of", "any", "not any",
    "<>", "==", "LIKE", "not  in", "", "=?", "in ",
};

static eo_vm *vm;
static lua_State *L;

static void push_field(lua_State *S, size_t i)
{
    i %= sizeof fields / sizeof fields[0];
    lua_pushlstring(S, fields[i].s, fields[i].n);
}

/* Canned values: each field type's usual kinds and the edges. */
static void push_canned(lua_State *S, unsigned v)
{
    switch (v % 28) {
    case 0: lua_pushliteral(S, "Ann"); break;
    case 1: lua_pushliteral(S, ""); break;
    case 2: lua_pushinteger(S, 1); break;
    case 3: lua_pushinteger(S, 0); break;
    case 4: lua_pushinteger(S, -1); break;
    case 5: lua_pushinteger(S, LUA_MAXINTEGER); break;
    case 6: lua_pushinteger(S, LUA_MININTEGER); break;
    case 7: lua_pushnumber(S, 1.5); break;
    case 8: lua_pushnumber(S, 0.0 / 0.0); break;
    case 9: lua_pushnumber(S, 1e308 * 10); break;
    case 10: lua_pushboolean(S, 1); break;
    case 11: lua_pushboolean(S, 0); break;
    case 12: eo_lua_push_null(S); break;
    case 13: lua_pushliteral(S, "2024-02-29"); break;
    case 14: lua_pushliteral(S, "2024-02-29 23:59:59.123456"); break;
    case 15: lua_pushliteral(S, "12.50"); break;
    case 16: lua_pushliteral(S, "draft"); break;
    case 17: lua_pushliteral(S, "%_\\"); break;
    case 18: lua_pushliteral(S, "{\"$gt\": \"\"}"); break;
    case 19: lua_pushliteral(S, "0123456789abcdef01234567"); break;
    case 20: lua_createtable(S, 0, 0); break;
    case 21:
        lua_createtable(S, 3, 0);
        lua_pushinteger(S, 1);
        lua_rawseti(S, -2, 1);
        lua_pushinteger(S, 2);
        lua_rawseti(S, -2, 2);
        eo_lua_push_null(S);
        lua_rawseti(S, -2, 3);
        break;
    case 22: /* a sub-domain: {{"name", "=", "x"}} */
        lua_createtable(S, 1, 0);
        lua_createtable(S, 3, 0);
        lua_pushliteral(S, "name");
        lua_rawseti(S, -2, 1);
        lua_pushliteral(S, "=");
        lua_rawseti(S, -2, 2);
        lua_pushliteral(S, "x");
        lua_rawseti(S, -2, 3);
        lua_rawseti(S, -2, 1);
        break;
    case 23: /* a dictionary: a Json value, or a mistake */
        lua_createtable(S, 0, 1);
        lua_pushinteger(S, 1);
        lua_setfield(S, -2, "$gt");
        break;
    case 24: lua_pushlstring(S, "a\0b", 3); break;
    case 25: lua_pushliteral(S, "\xff\xfe"); break;
    case 26: lua_pushnumber(S, -0.0); break;
    default: lua_pushnumber(S, 9.3e18); break;
    }
}

/* Append the value on top to the table below it. */
static void append(lua_State *S)
{
    lua_rawseti(S, -2, (lua_Integer)lua_rawlen(S, -2) + 1);
}

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static unsigned next(reader *r)
{
    return r->p < r->end ? *r->p++ : 0;
}

static uint64_t next64(reader *r)
{
    uint64_t u = 0;
    int i;
    for (i = 0; i < 8; i++)
        u |= (uint64_t)next(r) << (8 * i);
    return u;
}

/* One instruction at r; `open` counts the nested tables above the root. */
static void step(lua_State *S, unsigned ins, reader *r, size_t *open)
{
    switch (ins % 16) {
    case 0:
        if (*open < MAX_OPEN && lua_checkstack(S, 8)) {
            lua_createtable(S, 0, 0);
            ++*open;
        }
        break;
    case 1:
        if (*open > 0) {
            append(S);
            --*open;
        }
        break;
    case 2: push_field(S, next(r)); append(S); break;
    case 3: lua_pushstring(S, opers[next(r) % (sizeof opers / sizeof opers[0])]); append(S); break;
    case 4: lua_pushstring(S, (const char *[]){ "&", "|", "!" }[next(r) % 3]); append(S); break;
    case 5: lua_pushinteger(S, (lua_Integer)next64(r)); append(S); break;
    case 6: lua_pushinteger(S, (lua_Integer)next(r) - 8); append(S); break;
    case 7: {
        uint64_t u = next64(r);
        double d;
        memcpy(&d, &u, sizeof d);
        lua_pushnumber(S, d);
        append(S);
        break;
    }
    case 8: lua_pushboolean(S, next(r) & 1); append(S); break;
    case 9: eo_lua_push_null(S); append(S); break;
    case 10: {
        size_t n = next(r);
        if (n > (size_t)(r->end - r->p))
            n = (size_t)(r->end - r->p);
        lua_pushlstring(S, (const char *)r->p, n);
        r->p += n;
        append(S);
        break;
    }
    case 11: {
        unsigned f = next(r), o = next(r), v = next(r);
        lua_createtable(S, 3, 0);
        push_field(S, f);
        lua_rawseti(S, -2, 1);
        lua_pushstring(S, opers[o % (sizeof opers / sizeof opers[0])]);
        lua_rawseti(S, -2, 2);
        push_canned(S, v);
        lua_rawseti(S, -2, 3);
        append(S);
        break;
    }
    case 12: {
        unsigned k = next(r) % 6;
        lua_Integer n = (lua_Integer)lua_rawlen(S, -1);
        if (k == 0)
            lua_pushliteral(S, "name");
        else if (k == 1)
            lua_pushinteger(S, 0);
        else if (k == 2)
            lua_pushinteger(S, -1);
        else if (k == 3)
            lua_pushnumber(S, 1.5);
        else if (k == 4)
            lua_pushinteger(S, n + 2);
        else
            lua_createtable(S, 0, 0);
        lua_pushboolean(S, 1);
        lua_rawset(S, -3);
        break;
    }
    case 13: {
        lua_Integer n = (lua_Integer)lua_rawlen(S, -1);
        if (n > 0) {
            lua_rawgeti(S, -1, n);
            append(S);
        }
        break;
    }
    case 14: {
        /* at most 256: big inputs are the deep ones; fuzzing stays fast */
        unsigned i, times = next(r) + 1;
        const uint8_t *at = r->p;
        unsigned what = next(r);
        if (what % 16 == 14)
            break; /* no nested repeats: an input's work stays bounded */
        for (i = 0; i < times; i++) {
            r->p = at + 1;
            step(S, what, r, open);
        }
        break;
    }
    default: {
        unsigned n = next(r) % 8, i;
        lua_createtable(S, (int)n, 0);
        for (i = 0; i < n; i++) {
            push_canned(S, next(r));
            lua_rawseti(S, -2, (lua_Integer)i + 1);
        }
        append(S);
        break;
    }
    }
}

typedef struct job {
    const uint8_t *data;
    size_t size;
} job;

static void one(void *p)
{
    const job *j = p;
    reader r = { j->data, j->data + j->size };
    unsigned flags = next(&r);
    size_t open = 0;
    eo_domain *d = (eo_domain *)&d;
    eo_error err;
    int rc, top = lua_gettop(L);

    if (!lua_checkstack(L, 8))
        fz_die("lua_checkstack");
    lua_createtable(L, 0, 0); /* the root */
    while (r.p < r.end)
        step(L, next(&r), &r, &open);
    for (; open > 0; open--)
        append(L);
    rc = eo_lua_to_domain(L, top + 1, (flags & 1) ? EO_IDOID : EO_IDNUM, &d, &err);
    if (lua_gettop(L) != top + 1)
        fz_die("eo_lua_to_domain left %d values on the stack", lua_gettop(L) - top - 1);
    lua_settop(L, top);
    if (rc != EO_OK) {
        fz_check_error(rc, &err, "eo_lua_to_domain");
        if (d != NULL)
            fz_die("eo_lua_to_domain failed (%s) but set *out", err.msg);
        fz_outcome(0, "eo_lua_to_domain", &err);
        return;
    }
    if (d == NULL)
        fz_die("eo_lua_to_domain succeeded without a domain");
    fz_domain_pipeline(d, j->size);
    eo_domain_free(d);
}

/* The tables of one input are garbage now. Collecting them each time
 * keeps libFuzzer's per-input malloc/free balance even, so its leak check
 * (a full LeakSanitizer scan) runs only when C memory really stays. */
static void collect(void)
{
    lua_gc(L, LUA_GCCOLLECT, 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    eo_error err;
    (void)argc;
    (void)argv;
    fz_domain_init();
    if (eo_vm_new(&vm, NULL, &err) != EO_OK)
        fz_die("eo_vm_new: %s", err.msg);
    L = eo_vm_state(vm);
    eo_lua_push_null(L); /* made on first use: make it now, not in an input */
    lua_pop(L, 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    job j = { data, size };
    fz_run(one, &j);
    collect();
    return 0;
}
