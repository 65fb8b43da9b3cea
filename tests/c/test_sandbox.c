/*
 * test_sandbox.c - the model sandbox from a C host: model files run through
 * eo_engine_open + eo_engine_load_models with timeout_ms and memory_limit
 * set. The escape attempts of tests/fixtures/sandbox/escapes.lua must all
 * fail, the pathological work of limits.lua must stop at the limits (at
 * load, in model functions, and in validators, handlers and computed
 * fields the ORM runs), and require must never read a file. The pattern
 * functions that make the time limit hold are compared with Lua's own.
 * Model files cannot reach another file's classes or the host's env
 * (tests/fixtures/sandbox/foreign/), only regular files are read from a
 * models directory, and an error is converted where no allocation can
 * abort the process. A test that hangs fails by SIGALRM.
 */
#include <lauxlib.h>
#include <lualib.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eo_lua.h"
#include "helpers.h"

#define TIMEOUT_MS 200
/* the time limit of the engines that check the memory limit: reaching 64 MiB
 * takes longer than 200 ms in a loaded ASan run, and ENOMEM must win */
#define MEMORY_TIMEOUT_MS 60000
#define MEMORY_LIMIT ((size_t)64 << 20)
/* how long after the limit a stopped call may take to return (ASan builds are slow) */
#define SLACK_MS 3000.0
#if defined(__SANITIZE_ADDRESS__)
#define ASAN_SLOW 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_SLOW 1
#endif
#endif
#ifndef ASAN_SLOW
#define ASAN_SLOW 0
#endif

static const char *fixture(const char *name)
{
    static char path[1024];
    const char *src = getenv("EARNORM_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/fixtures/sandbox/%s", src ? src : ".", name);
    return path;
}

static eo_engine *open_engine_timeout(int timeout_ms)
{
    eo_engine *eng = NULL;
    eo_error err;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    cfg.database_url = "sqlite::memory:";
    cfg.timeout_ms = timeout_ms;
    cfg.memory_limit = MEMORY_LIMIT;
    assert_eo_ok(eo_engine_open(&eng, &cfg, &err), &err);
    return eng;
}

static eo_engine *open_engine(void) { return open_engine_timeout(TIMEOUT_MS); }

/* Every test ends within a minute or fails: before the fixes below some
 * hung (an endless C loop is deaf to timeout_ms). */
static int with_alarm(void **state)
{
    (void)state;
    alarm(ASAN_SLOW ? 240 : 60);
    return 0;
}

/* Evaluate code; the JSON result must be `want`. */
static void eval_is(eo_engine *eng, const char *code, const char *want)
{
    eo_error err;
    char *out = NULL;
    assert_eo_ok(eo_engine_eval(eng, code, &out, &err), &err);
    if (strcmp(out, want) != 0)
        fail_msg("%s gave %s, expected %s", code, out, want);
    eo_free(out);
}

/* ---- Lua's pattern functions and ours give the same results ---- */

/*
 * Run in a plain state: `old` is the stock string library, `new` ours.
 * Random patterns from pattern atoms and random subjects, each through
 * find (also plain), match, gmatch and gsub (string, table and function
 * replacements, a count), plus cases at the edges; results and error
 * messages must be equal (the function name in "bad argument" messages
 * aside). Returns the number of comparisons.
 */
static const char *const DIFF =
    "local old, new = string, ...\n"
    "math.randomseed(20261203)\n"
    "local atoms = { 'a', 'b', '.', '%a', '%d', '%s', '%w', '%A', '%z', '[ab]', '[^a]', '[a-c]',\n"
    "  '[%a_]', '[]]', '[a-]', '%%', '%.', '(', ')', '()', '*', '+', '-', '?', '^', '$', '%b()',\n"
    "  '%f[%w]', '%f[%W]', '%1', '%2', '%0', 'x', '\\0', '[', '%', '%b', '%f' }\n"
    "local chars = { 'a', 'b', 'c', '(', ')', ' ', '1', '_', '%', '.', '\\0', 'x', ']' }\n"
    "local function rpat()\n"
    "  local t = {}\n"
    "  for i = 1, math.random(0, 7) do t[i] = atoms[math.random(#atoms)] end\n"
    "  return table.concat(t)\n"
    "end\n"
    "local function rsub()\n"
    "  local t = {}\n"
    "  for i = 1, math.random(0, 14) do t[i] = chars[math.random(#chars)] end\n"
    "  return table.concat(t)\n"
    "end\n"
    "local function show(ok, ...)\n"
    "  local t = { tostring(ok) }\n"
    "  for i = 1, select('#', ...) do\n"
    "    local v = select(i, ...)\n"
    "    t[#t + 1] = math.type(v) or type(v) == 'string' and ('%q'):format(v) or type(v)\n"
    "    if math.type(v) then t[#t] = t[#t] .. ':' .. tostring(v) end\n"
    "  end\n"
    "  return (table.concat(t, ' '):gsub(\"to '[^']*'\", \"to 'F'\"))\n"
    "end\n"
    "local function iter(g, s, p, init)\n"
    "  local ok, it = pcall(g, s, p, init)\n"
    "  if not ok then return show(false, it) end\n"
    "  local out = {}\n"
    "  for _ = 1, 40 do\n"
    "    local r = table.pack(pcall(it))\n"
    "    out[#out + 1] = show(table.unpack(r, 1, r.n))\n"
    "    if not r[1] or r[2] == nil then break end\n"
    "  end\n"
    "  return table.concat(out, ' | ')\n"
    "end\n"
    "local n = 0\n"
    "local function same(what, a, b)\n"
    "  n = n + 1\n"
    "  if a ~= b then error(what .. '\\n stock: ' .. a .. '\\n  ours: ' .. b, 0) end\n"
    "end\n"
    "local reps = { '%0-%1', '<%2>', '%%', '%', '%x', '', 7,\n"
    "  { a = 'A', b = false, ['()'] = 1 }, function(...) return select('#', ...) .. ':' .. tostring((...)) end,\n"
    "  function() return {} end, function() end }\n"
    "local function check(s, p, init)\n"
    "  local q = ('%q %q %s'):format(s, p, tostring(init))\n"
    "  same('find ' .. q, show(pcall(old.find, s, p, init)), show(pcall(new.find, s, p, init)))\n"
    "  same('plain ' .. q, show(pcall(old.find, s, p, init, true)), show(pcall(new.find, s, p, init, true)))\n"
    "  same('match ' .. q, show(pcall(old.match, s, p, init)), show(pcall(new.match, s, p, init)))\n"
    "  same('gmatch ' .. q, iter(old.gmatch, s, p, init), iter(new.gmatch, s, p, init))\n"
    "  local r = reps[math.random(#reps)]\n"
    "  local max = ({ nil, 0, 1, 2, -1 })[math.random(5)]\n"
    "  same('gsub ' .. q .. ' ' .. tostring(r) .. ' ' .. tostring(max),\n"
    "       show(pcall(old.gsub, s, p, r, max)), show(pcall(new.gsub, s, p, r, max)))\n"
    "end\n"
    "for _ = 1, 30000 do\n"
    "  local init = ({ nil, 1, 2, -1, -3, 0, 5, 20 })[math.random(8)]\n"
    "  check(rsub(), rpat(), init)\n"
    "end\n"
    "local edges = {\n"
    "  { 'aaa', 'a-b' }, { '', '' }, { 'abc', '^' }, { 'abc', '$' }, { 'a$b', '$b' }, { 'x', '%' },\n"
    "  { 'x', '[a' }, { 'x', '[]' }, { ']', '[]]' }, { 'x', '[^]' }, { 'x', '%f' }, { 'x', '%fa' },\n"
    "  { 'THE (quick) fox', '%f[%a]%a+' }, { 'x', '%b' }, { 'x', '%bx' }, { '(a(b)c)', '%b()' },\n"
    "  { 'abcabc', '(abc)%1' }, { 'aa', '(a)%2' }, { 'a', '(a' }, { 'a', 'a)' }, { 'a', '()' },\n"
    "  { 'hello world', '(o)(r)' }, { 'hello', '()ll()' }, { 'key = value', '(%w+)%s*=%s*(%w+)' },\n"
    "  { ('a'):rep(300), ('a?'):rep(199) }, { ('a'):rep(300), ('a?'):rep(201) },\n"
    "  { ('a'):rep(300), ('(a)'):rep(32) }, { ('a'):rep(300), ('(a)'):rep(33) },\n"
    "  { ('a'):rep(3), ('a*'):rep(210) .. 'b' }, { 'x\\0y', '%z' }, { 'x\\0y', '\\0' },\n"
    "  { 'a.b', '.', math.maxinteger }, { 'a.b', '.', math.mininteger }, { '  trim  ', '^%s*(.-)%s*$' },\n"
    "  { 'abc', '((a)(b))' }, { 'abc', '(()a)' }, { 'aaa', '()a*()' }, { 'ab', '%f[%z]' },\n"
    "}\n"
    "for _, e in ipairs(edges) do\n"
    "  for _, r in ipairs(reps) do\n"
    "    same('edge gsub ' .. ('%q %q'):format(e[1], e[2]),\n"
    "         show(pcall(old.gsub, e[1], e[2], r)), show(pcall(new.gsub, e[1], e[2], r)))\n"
    "  end\n"
    "  check(e[1], e[2], e[3])\n"
    "end\n"
    "same('gsub count', show(pcall(old.gsub, 'abc', '%w', '%0', 1.5)), show(pcall(new.gsub, 'abc', '%w', '%0', 1.5)))\n"
    "same('gsub repl', show(pcall(old.gsub, 'abc', '%w')), show(pcall(new.gsub, 'abc', '%w')))\n"
    "same('find subject', show(pcall(old.find, {}, 'a')), show(pcall(new.find, {}, 'a')))\n"
    "same('number subject', show(pcall(old.gsub, 123, '2', 'x')), show(pcall(new.gsub, 123, '2', 'x')))\n"
    "return n\n";

static void test_sandbox__patterns_match_lua(void **state)
{
    lua_State *L = luaL_newstate();
    (void)state;
    luaL_openlibs(L);
    if (luaL_loadstring(L, DIFF) != LUA_OK)
        fail_msg("%s", lua_tostring(L, -1));
    eo_lua_push_patterns(L, NULL);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        fail_msg("%s", lua_tostring(L, -1));
    assert_true(lua_tointeger(L, -1) > 150000);
    lua_close(L);
}

/*
 * table.insert, table.remove and table.move after eo_lua_harden against
 * Lua's own (saved before): random calls on random tables, plain and with
 * __index/__newindex/__len metamethods; results, resulting tables and
 * messages must be equal.
 */
static const char *const TABLE_DIFF =
    "local old = ...\n"
    "local new = { insert = table.insert, remove = table.remove, move = table.move }\n"
    "assert(new.insert ~= old.insert and new.move ~= old.move)\n"
    "math.randomseed(7)\n"
    "local function mk(n, meta)\n"
    "  local t = {}\n"
    "  for i = 1, n do t[i] = i * 10 end\n"
    "  if meta then\n"
    "    local store = t\n"
    "    t = setmetatable({}, { __index = store, __newindex = store, __len = function() return #store end })\n"
    "    return t, store\n"
    "  end\n"
    "  return t, t\n"
    "end\n"
    "local function dump(t) local o = {} for i = -1, 12 do o[#o + 1] = tostring(rawget(t, i)) end return table.concat(o, ',') end\n"
    "local function show(ok, ...) local o = { tostring(ok) } for i = 1, select('#', ...) do\n"
    "  local v = select(i, ...); o[#o + 1] = type(v) == 'table' and 'table' or tostring(v) end\n"
    "  return (table.concat(o, ' '):gsub(\"to '[^']*'\", \"to 'F'\")) end\n"
    "-- small positions only: a huge range loops for ages in both (test_sandbox's limits cover those)\n"
    "local vals = { -2, -1, 0, 1, 2, 3, 5, 8, 11, 'x', nil, 2.5 }\n"
    "local function rv() return vals[math.random(#vals + 1)] end\n"
    "local n = 0\n"
    "for _ = 1, 20000 do\n"
    "  local size, meta = math.random(0, 8), math.random(3) == 1\n"
    "  local op = ({ 'insert', 'remove', 'move' })[math.random(3)]\n"
    "  local args, nargs, dsize = { rv(), rv(), rv(), rv() }, math.random(0, 4), math.random(0, 3)\n"
    "  local res = {}\n"
    "  for k, lib in pairs({ old = old, new = new }) do\n"
    "    local t, store = mk(size, meta)\n"
    "    local dst, dstore = mk(dsize, false)\n"
    "    local a = { t, table.unpack(args, 1, nargs) }\n"
    "    if op == 'move' and nargs == 4 then a[5] = dst end\n"
    "    res[k] = show(pcall(lib[op], table.unpack(a, 1, nargs + 1 + (a[5] and 1 or 0))))\n"
    "      .. ' | ' .. dump(store) .. ' | ' .. dump(dstore)\n"
    "  end\n"
    "  n = n + 1\n"
    "  if res.old ~= res.new then\n"
    "    error(op .. ' ' .. size .. ' ' .. tostring(meta) .. '\\n stock: ' .. res.old .. '\\n  ours: ' .. res.new, 0)\n"
    "  end\n"
    "end\n"
    "return n\n";

static void test_sandbox__table_loops_match_lua(void **state)
{
    lua_State *L = luaL_newstate();
    (void)state;
    luaL_openlibs(L);
    /* stack: a copy of the stock functions, then harden */
    lua_createtable(L, 0, 3);
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "insert");
    lua_setfield(L, -3, "insert");
    lua_getfield(L, -1, "remove");
    lua_setfield(L, -3, "remove");
    lua_getfield(L, -1, "move");
    lua_setfield(L, -3, "move");
    lua_pop(L, 1);
    eo_lua_harden(L, NULL);
    if (luaL_loadstring(L, TABLE_DIFF) != LUA_OK)
        fail_msg("%s", lua_tostring(L, -1));
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        fail_msg("%s", lua_tostring(L, -1));
    assert_int_equal(lua_tointeger(L, -1), 20000);
    lua_close(L);
}

/*
 * table.sort while a call has a deadline (it then compares through a
 * function that polls): the same results, orders and messages as Lua's
 * own sort in a plain state, for random arrays (up to 100 items: larger
 * ones get a random pivot), comparators and bad arguments.
 */
static const char *const SORT_DIFF =
    "math.randomseed(11)\n"
    "local out = {}\n"
    "local function show(ok, e) return ok and 'ok' or (tostring(e):gsub(\"to '[^']*'\", \"to 'F'\")) end\n"
    "local cmps = { nil, function(a, b) return a > b end, function(a, b) return (a % 7) < (b % 7) end,\n"
    "  function() return true end, function(a, b) return a < b and 1 or nil end }\n"
    "for i = 1, 3000 do\n"
    "  local n, t = math.random(0, 100), {}\n"
    "  for j = 1, n do t[j] = math.random(1, 50) end\n"
    "  if i % 97 == 0 and n > 1 then t[math.random(n)] = 'x' end\n"
    "  local ok, e = pcall(table.sort, t, cmps[math.random(#cmps + 1)])\n"
    "  out[#out + 1] = show(ok, e) .. ':' .. table.concat(t, ',', 1, #t)\n"
    "end\n"
    "for _, args in ipairs({ {}, { 5 }, { {}, 5 }, { { 1, 2 }, 5 }, { { 2, 1 }, {} } }) do\n"
    "  out[#out + 1] = show(pcall(table.sort, table.unpack(args, 1, 2)))\n"
    "end\n"
    "local proxy = setmetatable({}, { __index = function(_, k) return -k end, __newindex = function() end,\n"
    "  __len = function() return 5 end })\n"
    "out[#out + 1] = show(pcall(table.sort, proxy))\n"
    "return table.concat(out, '\\n')\n";

static void test_sandbox__sort_with_a_deadline_matches_lua(void **state)
{
    lua_State *plain = luaL_newstate();
    eo_vm *vm = NULL;
    eo_vm_config cfg;
    eo_error err;
    lua_State *L;
    (void)state;
    luaL_openlibs(plain);
    assert_int_equal(luaL_dostring(plain, SORT_DIFF), LUA_OK);
    memset(&cfg, 0, sizeof cfg);
    cfg.timeout_ms = 60000;
    assert_eo_ok(eo_vm_new(&vm, &cfg, &err), &err);
    L = eo_vm_state(vm);
    assert_int_equal(luaL_loadstring(L, SORT_DIFF), LUA_OK);
    assert_eo_ok(eo_lua_pcall(L, 0, 1, &err, NULL), &err);
    if (strcmp(lua_tostring(plain, -1), lua_tostring(L, -1)) != 0) {
        const char *a = lua_tostring(plain, -1), *b = lua_tostring(L, -1);
        size_t i = 0;
        while (a[i] && a[i] == b[i])
            i++;
        fail_msg("sort differs from Lua's at byte %zu:\n stock: %.200s\n  ours: %.200s", i, a + i, b + i);
    }
    lua_close(plain);
    eo_vm_free(vm);
}

/* string.rep against Lua's: results and messages for random and edge arguments. */
static const char *const REP_DIFF =
    "local old, new = ...\n"
    "math.randomseed(5)\n"
    "local strs = { '', 'a', 'ab', 'xyz', '\\0', ('q'):rep(100) }\n"
    "local function show(ok, ...) local t = { tostring(ok) }\n"
    "  for i = 1, select('#', ...) do local v = select(i, ...); t[#t + 1] = type(v) .. ':' .. tostring(v) end\n"
    "  return (table.concat(t, ' '):gsub(\"to '[^']*'\", \"to 'F'\")) end\n"
    "local n = 0\n"
    "local function same(...)\n"
    "  n = n + 1\n"
    "  local a, b = show(pcall(old, ...)), show(pcall(new, ...))\n"
    "  if a ~= b then error('rep differs:\\n stock: ' .. a .. '\\n  ours: ' .. b, 0) end\n"
    "end\n"
    "for _ = 1, 5000 do\n"
    "  local s, sep = strs[math.random(#strs)], strs[math.random(#strs)]\n"
    "  local k = math.random(-2, 70)\n"
    "  if math.random(2) == 1 then same(s, k) else same(s, k, sep) end\n"
    "end\n"
    "for _, a in ipairs({ { 'x', 2^31 }, { 'x', math.maxinteger }, { 'xx', 2^30, 'y' }, { 'x', 1.5 },\n"
    "                     { 'x', '3' }, { 'x' }, { nil, 1 }, { {}, 1 }, { 'x', 1, {} }, { 12, 2 },\n"
    "                     { 'x', math.mininteger } }) do\n"
    "  same(table.unpack(a, 1, 3))\n"
    "end\n"
    "return n\n";

static void test_sandbox__rep_matches_lua(void **state)
{
    lua_State *L = luaL_newstate();
    (void)state;
    luaL_openlibs(L);
    if (luaL_loadstring(L, REP_DIFF) != LUA_OK)
        fail_msg("%s", lua_tostring(L, -1));
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "rep");
    lua_remove(L, -2);
    eo_lua_harden(L, NULL);
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "rep");
    lua_remove(L, -2);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK)
        fail_msg("%s", lua_tostring(L, -1));
    assert_int_equal(lua_tointeger(L, -1), 5011);
    lua_close(L);
}

/* ---- escape attempts ---- */

static void test_sandbox__escapes_fail(void **state)
{
    eo_engine *eng = open_engine();
    eo_error err;
    (void)state;
    assert_eo_ok(eo_engine_load_models(eng, fixture("escapes.lua"), &err), &err);
    eval_is(eng, "return orm.models['sbx.escapes'].refused", "72");
    /* model code the host calls later, with records */
    eval_is(eng, "return env['sbx.escapes']:probe()", "7");
    /* nothing the file did reached the host */
    eval_is(eng,
            "return getmetatable('') == 'locked' and ('x'):upper() == 'X' and string.upper('x') == 'X'"
            " and ('abc'):find('c', 1, true) == 3 and type(string.dump) == 'function'"
            " and math.pi > 3.14 and type(math.randomseed) == 'function'"
            " and rawget(_G, 'escaped_global') == nil and type(orm.model) == 'function'"
            " and type(orm.connect) == 'function' and orm.models['res.partner'] == nil",
            "true");
    /* the finalizer added after setmetatable never runs */
    eval_is(eng, "collectgarbage() collectgarbage() return orm.models['sbx.escapes'].finalized == nil",
            "true");
    eval_is(eng, "orm.models['sbx.escapes'].kept = nil collectgarbage() collectgarbage()"
                 " return orm.models['sbx.escapes'].finalized == nil",
            "true");
    eo_engine_close(eng);
}

/* A model file of bytecode is refused: loadfile runs in text mode. */
static int dump_writer(lua_State *L, const void *p, size_t n, void *ud)
{
    (void)L;
    return fwrite(p, 1, n, ud) == n ? 0 : 1;
}

static void test_sandbox__binary_model_file_refused(void **state)
{
    char dir[512], path[700];
    eo_engine *eng;
    eo_error err;
    FILE *f;
    lua_State *L = luaL_newstate();
    (void)state;
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/bin.lua", dir);
    assert_int_equal(luaL_loadstring(L, "return require('earnorm').model('sbx.bin', {})"), LUA_OK);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(lua_dump(L, dump_writer, f, 0), 0);
    fclose(f);
    lua_close(L);
    eng = open_engine();
    assert_eo_error(eo_engine_load_models(eng, path, &err), &err, EO_EINVAL,
                    "attempt to load a binary chunk (mode is 't')");
    eval_is(eng, "return orm.models['sbx.bin'] == nil", "true");
    eo_engine_close(eng);
    th_rmtree(dir);
}

/*
 * require "earnorm.X" never reads a file: with ./earnorm/pwn.lua and
 * ./earnorm/fields.lua in the working directory (each would leave a
 * marker file), a model file gets the embedded earnorm.fields and a
 * refusal for earnorm.pwn, and neither file runs.
 */
static void test_sandbox__require_reads_no_file(void **state)
{
    char dir[512], sub[600], path[700], cwd[1024], marker[700];
    eo_engine *eng;
    eo_error err;
    struct stat st;
    (void)state;
    assert_non_null(getcwd(cwd, sizeof cwd));
    th_tmpdir(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/earnorm", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    th_write_file(path, sizeof path, sub, "pwn.lua",
                  "io.open('pwned', 'w'):write('pwn.lua ran'):close() return {}\n");
    th_write_file(path, sizeof path, sub, "fields.lua",
                  "io.open('pwned', 'w'):write('fields.lua ran'):close() return {}\n");
    th_write_file(path, sizeof path, dir, "uses_fields.lua",
                  "local f = require 'earnorm.fields'\n"
                  "return require('earnorm').model('sbx.req.fields', { name = f.Char{} })\n");
    th_write_file(path, sizeof path, dir, "pwn_model.lua",
                  "local pwn = require 'earnorm.pwn'\nreturn pwn\n");
    assert_int_equal(chdir(dir), 0);
    eng = open_engine();
    assert_eo_ok(eo_engine_load_models(eng, "uses_fields.lua", &err), &err);
    assert_eo_error(eo_engine_load_models(eng, "pwn_model.lua", &err), &err, EO_ERROR,
                    "pwn_model.lua:1: require(\"earnorm.pwn\") is not allowed in a model file "
                    "(only earnorm, earnorm.fields, earnorm.errors and earnorm.command)");
    eo_engine_close(eng);
    snprintf(marker, sizeof marker, "%s/pwned", dir);
    if (stat(marker, &st) == 0)
        fail_msg("a file found through package.path ran: %s exists", marker);
    assert_int_equal(chdir(cwd), 0);
    th_rmtree(dir);
}

/* ---- the limits hold ---- */

/* Call code, which must fail with `want` soon after the time limit. */
static void stops(eo_engine *eng, const char *code, int want)
{
    eo_error err;
    char *out = NULL;
    double t0 = th_now_ms(), ms;
    int rc = eo_engine_eval(eng, code, &out, &err);
    ms = th_now_ms() - t0;
    eo_free(out);
    if (rc != want)
        fail_msg("%s: expected %s, got %s: %s", code, eo_code_name(want), eo_code_name(rc),
                 rc == EO_OK ? "" : err.msg);
    if (want == EO_ETIMEOUT && strstr(err.msg, "script ran longer than 200 ms and was stopped") == NULL)
        fail_msg("%s: message \"%s\"", code, err.msg);
    if (want == EO_ENOMEM && strstr(err.msg, "the VM's memory limit was reached") == NULL)
        fail_msg("%s: message \"%s\"", code, err.msg);
    if (want == EO_ETIMEOUT && ms > TIMEOUT_MS + SLACK_MS)
        fail_msg("%s: stopped after %.0f ms (limit %d ms)", code, ms, TIMEOUT_MS);
    /* the engine goes on working */
    eval_is(eng, "return ('ok'):rep(2)", "\"okok\"");
}

static const char *const TIMEOUTS[] = {
    "find", "match", "gmatch", "gsub", "balance", "backref", "insert", "remove", "move", "sort",
    "pcall_loop", "xpcall_loop", "resume_loop", "wrap_loop", "close_loop", "tostring_loop",
    "resume_stored", "wrap_close", "kill_with_close", "pcall_error_loop", "sort_after_timeout",
    "sort_cmp_after_timeout",
};
static const char *const MEMORY[] = { "rep", "rep_method", "rep_sep", "grow" };

static void test_sandbox__model_functions_stop_at_the_limits(void **state)
{
    eo_engine *eng = open_engine();
    eo_error err;
    char code[256];
    size_t i;
    (void)state;
    assert_eo_ok(eo_engine_load_models(eng, fixture("limits.lua"), &err), &err);
    for (i = 0; i < sizeof TIMEOUTS / sizeof TIMEOUTS[0]; i++) {
        snprintf(code, sizeof code, "return orm.models['sbx.limits'].%s()", TIMEOUTS[i]);
        stops(eng, code, EO_ETIMEOUT);
    }
    eval_is(eng, "return orm.models['sbx.limits'].plain_find()", "null");
    stops(eng, "return orm.models['sbx.limits'].rollback_loop(env)", EO_ETIMEOUT);
    eval_is(eng, "return env:in_transaction()", "false");
    /* the coroutine the limit stopped is never closed: its __close would run unbounded */
    eval_is(eng, "return {orm.models['sbx.limits'].close_killed()}",
            "[false,\"cannot close a coroutine the time limit stopped\"]");
    eo_engine_close(eng);
    /* ENOMEM, before a time limit far away (the code returns at the limit, not after it) */
    eng = open_engine_timeout(MEMORY_TIMEOUT_MS);
    assert_eo_ok(eo_engine_load_models(eng, fixture("limits.lua"), &err), &err);
    for (i = 0; i < sizeof MEMORY / sizeof MEMORY[0]; i++) {
        snprintf(code, sizeof code, "return orm.models['sbx.limits'].%s()", MEMORY[i]);
        stops(eng, code, EO_ENOMEM);
    }
    eo_engine_close(eng);
}

/* Validators, event handlers and computed fields the ORM runs for a C caller. */
static void test_sandbox__orm_callbacks_stop_at_the_limits(void **state)
{
    static const char *const cases[][2] = {
        { "constraint:find", "ETIMEOUT" }, { "constraint:pcall_loop", "ETIMEOUT" },
        { "event:resume_loop", "ETIMEOUT" }, { "event:sort", "ETIMEOUT" },
        { "compute:gsub", "ETIMEOUT" }, { "compute:xpcall_loop", "ETIMEOUT" },
        { "constraint:rep_method", "ENOMEM" }, { "event:grow", "ENOMEM" },
        { "compute:rep", "ENOMEM" },
    };
    /* [0] stops at 200 ms; [1] checks ENOMEM with the time limit far away */
    eo_engine *engs[2] = { open_engine(), open_engine_timeout(MEMORY_TIMEOUT_MS) };
    eo_error err;
    char vals[128], *ids = NULL;
    size_t i;
    long long n = -1;
    (void)state;
    for (i = 0; i < 2; i++) {
        assert_eo_ok(eo_engine_load_models(engs[i], fixture("limits.lua"), &err), &err);
        assert_eo_ok(eo_engine_migrate(engs[i], &err), &err);
    }
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double t0 = th_now_ms(), ms;
        int want = strcmp(cases[i][1], "ETIMEOUT") == 0 ? EO_ETIMEOUT : EO_ENOMEM;
        eo_engine *eng = engs[want == EO_ENOMEM];
        int rc;
        snprintf(vals, sizeof vals, "{\"name\": \"%s\"}", cases[i][0]);
        rc = eo_create_json(eng, "sbx.limits", vals, &ids, &err);
        ms = th_now_ms() - t0;
        if (rc != want)
            fail_msg("%s: expected %s, got %s: %s", cases[i][0], cases[i][1], eo_code_name(rc),
                     rc == EO_OK ? ids : err.msg);
        if (want == EO_ETIMEOUT && ms > TIMEOUT_MS + SLACK_MS)
            fail_msg("%s: stopped after %.0f ms", cases[i][0], ms);
    }
    /* nothing was written, and the engines still work */
    for (i = 0; i < 2; i++) {
        assert_eo_ok(eo_search_count_json(engs[i], "sbx.limits", "[]", &n, &err), &err);
        assert_int_equal(n, 0);
        assert_eo_ok(eo_create_json(engs[i], "sbx.limits", "{\"name\": \"fine\"}", &ids, &err), &err);
        eo_free(ids);
        eval_is(engs[i], "return env['sbx.limits']:search{}.shout", "\"FINE\"");
        eo_engine_close(engs[i]);
    }
}

static void test_sandbox__loading_stops_at_the_limits(void **state)
{
    eo_engine *eng = open_engine();
    eo_error err;
    double t0 = th_now_ms();
    (void)state;
    assert_eo_error(eo_engine_load_models(eng, fixture("load_timeout.lua"), &err), &err,
                    EO_ETIMEOUT, "script ran longer than 200 ms and was stopped");
    assert_true(th_now_ms() - t0 < TIMEOUT_MS + SLACK_MS);
    assert_eo_error(eo_engine_load_models(eng, fixture("load_memory.lua"), &err), &err, EO_ENOMEM,
                    "out of memory in Lua (the VM's memory limit was reached)");
    eval_is(eng, "return orm.models['sbx.never'] == nil", "true");
    eo_engine_close(eng);
}

/*
 * The matcher state a gmatch iterator keeps: a call that found the pattern
 * too complex left the recursion counter below zero (the next call
 * recursed without limit: a segfault), one the time limit stopped deep in
 * a match left it part used (the next one said "too complex" at once).
 */
static void test_sandbox__gmatch_iterator_starts_afresh(void **state)
{
    eo_engine *eng = open_engine();
    eo_error err;
    (void)state;
    assert_eo_ok(eo_engine_load_models(eng, fixture("limits.lua"), &err), &err);
    eval_is(eng, "return {orm.models['sbx.limits'].gmatch_twice()}",
            "[\"pattern too complex\",\"pattern too complex\"]");
    stops(eng, "return orm.models['sbx.limits'].gmatch_deep()", EO_ETIMEOUT);
    stops(eng, "return orm.models['sbx.limits'].gmatch_deep()", EO_ETIMEOUT);
    /* scripts the host runs use the same functions */
    eval_is(eng, "local it = ('a'):rep(2e5):gmatch(('a?'):rep(2e5)) "
                 "return {select(2, pcall(it)), select(2, pcall(it))}",
            "[\"pattern too complex\",\"pattern too complex\"]");
    eo_engine_close(eng);
}

/* string.rep of an empty result returns at once (Lua's loops n times), and
 * os.date in a model file takes a format of at most 1024 bytes. */
static void test_sandbox__rep_and_date_are_bounded(void **state)
{
    eo_engine *eng = open_engine();
    eo_error err;
    double t0;
    (void)state;
    assert_eo_ok(eo_engine_load_models(eng, fixture("limits.lua"), &err), &err);
    t0 = th_now_ms();
    eval_is(eng, "return orm.models['sbx.limits'].rep_empty()", "0");
    eval_is(eng, "return #string.rep('', math.maxinteger, '')", "0");
    assert_true(th_now_ms() - t0 < TIMEOUT_MS);
    stops(eng, "return #('x'):rep(1e9, '')", EO_ENOMEM);
    eval_is(eng, "return {orm.models['sbx.limits'].date_long()}",
            "[false,\"bad argument #1 to 'date' (format longer than 1024 bytes, the limit in a "
            "model file)\"]");
    eval_is(eng, "return orm.models['sbx.limits'].date_ok()", "1024");
    /* the host's os.date is Lua's */
    eval_is(eng, "return #os.date(('%Y'):rep(600), 0)", "2400");
    eo_engine_close(eng);
}

/*
 * After the time limit the ORM stops running transaction handlers: a
 * rollback used to run every after_rollback handler (each stopped at once,
 * but a model could register hundreds of thousands), and a coroutine a
 * handler resumed ran on. Handlers per event are limited to 1000.
 */
static void test_sandbox__handlers_stop_at_the_limit(void **state)
{
    eo_engine *eng = open_engine();
    eo_error err;
    char *out = NULL;
    (void)state;
    assert_eo_ok(eo_engine_load_models(eng, fixture("limits.lua"), &err), &err);
    eval_is(eng, "orm.models['sbx.limits'].register_counters(env, 999) return 1", "1");
    stops(eng, "env:begin() env:rollback() return 1", EO_ETIMEOUT);
    eval_is(eng, "return orm.models['sbx.limits'].count()", "0");
    assert_eo_error(eo_engine_eval(eng, "env:on('after_rollback', print) return 1", &out, &err), &err,
                    EO_ELIMIT, "env:on: more than 1000 handlers for 'after_rollback' (the limit per event)");
    eo_free(out);
    out = NULL;
    eval_is(eng, "for i = 1, 1000 do orm.on('after_commit', print) end return 1", "1");
    assert_eo_error(eo_engine_eval(eng, "orm.on('after_commit', print) return 1", &out, &err), &err,
                    EO_ELIMIT, "orm.on: more than 1000 handlers for 'after_commit' (the limit per event)");
    eo_free(out);
    out = NULL;
    eval_is(eng, "local M = orm.models['sbx.limits'] for i = 1, 1000 do M:on('after_write', print) end "
                 "return 1", "1");
    assert_eo_error(eo_engine_eval(eng, "orm.models['sbx.limits']:on('after_write', print) return 1",
                                   &out, &err), &err, EO_ELIMIT,
                    "sbx.limits: more than 1000 handlers for 'after_write' (the limit per event and model)");
    eo_free(out);
    eo_engine_close(eng);
}

/*
 * The embedded modules may unwind after the time limit, but only for a
 * bounded number of instructions: code of theirs a model makes loop (a
 * comparator, a wrapper called from C) must stop too. A chunk named like
 * an embedded module stands for such code here.
 */
static void test_sandbox__embedded_code_has_a_grace_budget(void **state)
{
    static const char outer[] =
        "local spin = ...\n"
        "pcall(spin)\n"               /* the model code: stopped at the limit */
        "local n = 0\n"
        "while true do n = n + 1 end\n";
    eo_vm *vm = NULL;
    eo_vm_config cfg;
    eo_error err;
    lua_State *L;
    double t0;
    int rc;
    (void)state;
    memset(&cfg, 0, sizeof cfg);
    cfg.timeout_ms = TIMEOUT_MS;
    assert_eo_ok(eo_vm_new(&vm, &cfg, &err), &err);
    L = eo_vm_state(vm);
    assert_int_equal(luaL_loadbuffer(L, outer, sizeof outer - 1, "@earnorm/env.lua"), LUA_OK);
    assert_int_equal(luaL_loadstring(L, "while true do end"), LUA_OK);
    t0 = th_now_ms();
    rc = eo_lua_pcall(L, 1, 0, &err, NULL);
    assert_int_equal(rc, EO_ETIMEOUT);
    assert_non_null(strstr(err.msg, "script ran longer than 200 ms and was stopped"));
    assert_true(th_now_ms() - t0 < TIMEOUT_MS + SLACK_MS);
    eo_vm_free(vm);
}

/* ---- other files' classes, the host's env ---- */

/*
 * tests/fixtures/sandbox/foreign/: 3_attack.lua tries to change the class
 * 1_victim.lua declared (through orm.models and through records) and the
 * host's env (through its records); 2_extend.lua extends it legitimately.
 * Every attempt fails, the extension works, the validator still holds and
 * the host's env is untouched.
 */
static void test_sandbox__other_classes_and_the_env_are_out_of_reach(void **state)
{
    eo_engine *eng = open_engine();
    eo_error err;
    char *ids = NULL;
    (void)state;
    assert_eo_ok(eo_engine_load_models(eng, fixture("foreign"), &err), &err);
    assert_eo_ok(eo_engine_migrate(eng, &err), &err);
    eval_is(eng, "return orm.models['sbx.attacker'].refused", "17");
    eval_is(eng, "return env['sbx.attacker']:attack()", "21");
    assert_eo_error(eo_create_json(eng, "sbx.victim", "{\"name\": \"evil\"}", &ids, &err), &err,
                    EO_EVALIDATE, "no evil victims");
    assert_eo_ok(eo_create_json(eng, "sbx.victim", "{\"name\": \"fine\", \"nick\": \"f\"}", &ids,
                                &err), &err);
    eo_free(ids);
    eval_is(eng, "local v = env['sbx.victim']:search{} return {v:greet(), v:shout(), v.nick}",
            "[\"hello fine\",\"FINE\",\"f\"]");
    /* a transaction from model code: refused inside an ORM operation, fine outside */
    assert_eo_ok(eo_create_json(eng, "sbx.attacker", "{\"name\": \"a\"}", &ids, &err), &err);
    eo_free(ids);
    eval_is(eng, "return orm.models['sbx.attacker'].in_operation",
            "\"ETXNSTATE: env:transaction: not available inside an ORM operation (its handlers, "
            "validators and computed fields run in its own atomic scope already)\"");
    eval_is(eng, "return env['sbx.attacker']:in_transaction('in tx')", "2");
    eval_is(eng, "return {env:ping().ok, env.url, env['sbx.victim']:search_count{}, "
                 "env['sbx.victim'].env == env}",
            "[true,\"sqlite::memory:\",2,true]");
    eo_engine_close(eng);
}

/* ---- only regular files are read from a models directory ---- */

static void load_fails(eo_engine *eng, const char *path, int code, const char *want,
                       const char *secret)
{
    eo_error err;
    double t0 = th_now_ms();
    assert_eo_error(eo_engine_load_models(eng, path, &err), &err, code, want);
    if (secret && strstr(err.msg, secret) != NULL)
        fail_msg("the error quotes the file: %s", err.msg);
    assert_true(th_now_ms() - t0 < TIMEOUT_MS);
}

/*
 * A FIFO named *.lua blocked the load forever (reading it waits for a
 * writer); a symbolic link made the loader parse any file the process can
 * read (/proc/self/environ), and the syntax error quoted its content.
 * Entries of a models directory must be regular files; the path the host
 * names itself may be a link.
 */
static void test_sandbox__models_directory_holds_regular_files_only(void **state)
{
    char dir[512], sub[600], path[700], link[700], secret[700], msg[900];
    eo_engine *eng = open_engine();
    eo_error err;
    (void)state;
    th_tmpdir(dir, sizeof dir);
    th_write_file(secret, sizeof secret, dir, "secret.txt", "DATABASE_PASSWORD hunter2\n");
    snprintf(sub, sizeof sub, "%s/models", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    th_write_file(path, sizeof path, sub, "a.lua",
                  "return require('earnorm').model('sbx.files.a', {})\n");

    /* a FIFO */
    snprintf(link, sizeof link, "%s/b.lua", sub);
    assert_int_equal(mkfifo(link, 0600), 0);
    snprintf(msg, sizeof msg, "model file '%s' is not a regular file (model files must be regular files)",
             link);
    load_fails(eng, sub, EO_EINVAL, msg, NULL);
    unlink(link);

    /* a symbolic link, to a file outside or inside the directory */
    assert_int_equal(symlink(secret, link), 0);
    snprintf(msg, sizeof msg, "model file '%s' is a symbolic link (model files must be regular "
             "files, not links)", link);
    load_fails(eng, sub, EO_EINVAL, msg, "hunter2");
    unlink(link);
    assert_int_equal(symlink(path, link), 0);
    load_fails(eng, sub, EO_EINVAL, msg, NULL);
    unlink(link);

    /* a directory */
    assert_int_equal(mkdir(link, 0700), 0);
    snprintf(msg, sizeof msg, "model file '%s' is not a regular file", link);
    load_fails(eng, sub, EO_EINVAL, msg, NULL);
    rmdir(link);
    eval_is(eng, "return orm.models['sbx.files.a'] == nil", "true");

    /* the path the host names may be a link (to the directory, or a file) */
    snprintf(link, sizeof link, "%s/models-link", dir);
    assert_int_equal(symlink(sub, link), 0);
    assert_eo_ok(eo_engine_load_models(eng, link, &err), &err);
    eval_is(eng, "return orm.models['sbx.files.a']._name", "\"sbx.files.a\"");
    snprintf(link, sizeof link, "%s/one.lua", dir);
    th_write_file(path, sizeof path, dir, "one-target.lua",
                  "return require('earnorm').model('sbx.files.one', {})\n");
    assert_int_equal(symlink(path, link), 0);
    assert_eo_ok(eo_engine_load_models(eng, link, &err), &err);
    eval_is(eng, "return orm.models['sbx.files.one']._name", "\"sbx.files.one\"");
    /* but a FIFO named by the host is not read either */
    snprintf(link, sizeof link, "%s/fifo.lua", dir);
    assert_int_equal(mkfifo(link, 0600), 0);
    snprintf(msg, sizeof msg, "models path '%s' is neither a directory nor a regular file", link);
    load_fails(eng, link, EO_EINVAL, msg, NULL);
    eo_engine_close(eng);
    th_rmtree(dir);
}

/* ---- an error converted after lua_pcall could abort ---- */

/* An allocator that fails every allocation while `failing` is set. */
static int failing;

static void *fail_malloc(size_t n, void *p)
{
    (void)p;
    return failing ? NULL : malloc(n);
}

static void *fail_realloc(void *ptr, size_t n, void *p)
{
    (void)p;
    return failing ? NULL : realloc(ptr, n);
}

static void fail_free(void *ptr, void *p)
{
    (void)p;
    free(ptr);
}

static int l_fail_now(lua_State *L)
{
    (void)L;
    failing = 1;
    return 0;
}

/*
 * The error is an earnorm.Error whose message is a number: reading it as
 * a string allocates. A __close handler fills the memory while the error
 * unwinds, after the message handler ran and before lua_pcall returns;
 * converting the error then (outside any protected call) aborted the
 * process through the panic handler. It is converted in the handler now.
 */
static void test_sandbox__error_converted_under_protection(void **state)
{
    static const char code[] =
        "local fail_now = ...\n"
        "local e = require('earnorm').Error('x')\n"
        "e.message = 4242\n"
        "e.field = 1234\n"
        "local c <close> = setmetatable({}, { __close = fail_now })\n"
        "error(e)\n";
    eo_allocator a = { fail_malloc, fail_realloc, fail_free, NULL };
    eo_vm *vm = NULL;
    eo_vm_config cfg;
    eo_error err;
    lua_State *L;
    char *trace = NULL;
    int rc;
    (void)state;
    eo_set_allocator(&a);
    memset(&cfg, 0, sizeof cfg);
    assert_eo_ok(eo_vm_new(&vm, &cfg, &err), &err);
    L = eo_vm_state(vm);
    assert_int_equal(luaL_loadstring(L, code), LUA_OK);
    lua_pushcfunction(L, l_fail_now);
    rc = eo_lua_pcall(L, 1, 0, &err, &trace);
    failing = 0;
    assert_int_equal(rc, EO_ERROR);
    assert_string_equal(err.msg, "4242");
    assert_string_equal(err.field, "1234");
    assert_non_null(trace);
    assert_non_null(strstr(trace, "stack traceback"));
    eo_free(trace);
    eo_vm_free(vm);
    eo_set_allocator(NULL);
}

/* A memory_limit too small for the standard libraries: an error, not an abort. */
static void test_sandbox__tiny_memory_limit_is_enomem(void **state)
{
    eo_engine *eng = NULL;
    eo_error err;
    eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
    (void)state;
    cfg.database_url = "sqlite::memory:";
    cfg.memory_limit = 16 << 10;
    assert_eo_error(eo_engine_open(&eng, &cfg, &err), &err, EO_ENOMEM,
                    "out of memory creating a Lua VM (memory_limit is too small)");
    assert_null(eng);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup(name, with_alarm)
    const struct CMUnitTest tests[] = {
        T(test_sandbox__patterns_match_lua),
        T(test_sandbox__table_loops_match_lua),
        T(test_sandbox__sort_with_a_deadline_matches_lua),
        T(test_sandbox__rep_matches_lua),
        T(test_sandbox__escapes_fail),
        T(test_sandbox__binary_model_file_refused),
        T(test_sandbox__require_reads_no_file),
        T(test_sandbox__model_functions_stop_at_the_limits),
        T(test_sandbox__orm_callbacks_stop_at_the_limits),
        T(test_sandbox__loading_stops_at_the_limits),
        T(test_sandbox__gmatch_iterator_starts_afresh),
        T(test_sandbox__rep_and_date_are_bounded),
        T(test_sandbox__handlers_stop_at_the_limit),
        T(test_sandbox__embedded_code_has_a_grace_budget),
        T(test_sandbox__error_converted_under_protection),
        T(test_sandbox__other_classes_and_the_env_are_out_of_reach),
        T(test_sandbox__models_directory_holds_regular_files_only),
        T(test_sandbox__tiny_memory_limit_is_enomem),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
