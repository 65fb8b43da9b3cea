-- Model files and model declarations: orm.load_models, the sandbox model
-- files run in, declaration errors, and _inherit.
--
-- The model registry lives as long as the process, so every model here has
-- a name of its own ("sbx.<case>...").
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function tmpdir()
  local p = assert(io.popen("mktemp -d"))
  local dir = p:read("l")
  p:close()
  assert(dir and dir ~= "", "mktemp -d failed")
  return dir
end

local function rmdir(dir)
  assert(dir:match("^/tmp/") or dir:match("^/var/"), "refusing to remove " .. dir)
  os.execute("rm -rf " .. sh_quote(dir))
end

local function write_file(path, text)
  local fh = assert(io.open(path, "wb"))
  fh:write(text)
  fh:close()
end

local function model_names(list)
  local out = {}
  for i, cls in ipairs(list) do out[i] = cls._name end
  return out
end

describe("model files", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmdir(dir) end)

  -- Write files { name = text } into dir and load it.
  local function load(files)
    for name, text in pairs(files) do write_file(dir .. "/" .. name, text) end
    return orm.load_models(dir)
  end

  local function load_error(files)
    return h.error_of(load, files)
  end

  local function model_file(name, extra)
    return string.format([[
local orm = require "earnorm"
return orm.model(%q, { name = orm.fields.Char{} %s })
]], name, extra or "")
  end

  describe("orm.load_models", function()
    it("loads every *.lua of a directory in name order and returns their models", function()
      local loaded = load({
        ["b_second.lua"] = model_file("sbx.order.b"),
        ["10_first.lua"] = model_file("sbx.order.ten"),
        ["a_first.lua"] = model_file("sbx.order.a"),
        ["c_third.lua"] = model_file("sbx.order.c"),
        ["notes.txt"] = "this is not Lua at all (",
        [".hidden.lua"] = "error('hidden files are skipped')",
        ["data.lua.bak"] = "error('only .lua files')",
      })
      local want = { "sbx.order.ten", "sbx.order.a", "sbx.order.b", "sbx.order.c" }
      assert.are.same(want, model_names(loaded))
      for i, n in ipairs(want) do
        assert.is_not_nil(orm.models[n])
        assert.are.equal(orm.models[n], loaded[i])
      end
    end)

    it("name order lets a later file extend a model an earlier one declares", function()
      local loaded = load({
        ["2_extend.lua"] = [[
local orm = require "earnorm"
return orm.model("sbx.seq.base", { _inherit = "sbx.seq.base", extra = orm.fields.Integer{} })
]],
        ["1_base.lua"] = model_file("sbx.seq.base"),
      })
      assert.are.equal(2, #loaded)
      assert.are.equal(loaded[1], loaded[2])
      assert.is_not_nil(orm.models["sbx.seq.base"]._fields.extra)
    end)

    it("loads a single file", function()
      write_file(dir .. "/one.lua", model_file("sbx.single"))
      local loaded = orm.load_models(dir .. "/one.lua")
      assert.are.same({ "sbx.single" }, model_names(loaded))
    end)

    it("an empty directory loads nothing; a missing path is an error", function()
      assert.are.same({}, orm.load_models(dir))
      local err = h.error_of(orm.load_models, dir .. "/nowhere")
      assert.are.equal("ENOTFOUND", err.code)
      assert.matches("does not exist", err.message, 1, true)
      assert.matches("nowhere", err.message, 1, true)
    end)
  end)

  describe("the sandbox", function()
    it("reading an undefined global raises, naming it and the file:line", function()
      local err = load_error({ ["m.lua"] = "local orm = require 'earnorm'\n\nreturn undefined_thing\n" })
      assert.is_true(orm.is_error(err))
      assert.matches("undefined global 'undefined_thing'", err.message, 1, true)
      assert.matches(dir .. "/m.lua:3:", err.message, 1, true)
    end)

    it("a typo in a global inside a method is caught when the method runs", function()
      load({ ["m.lua"] = [[
local orm = require "earnorm"
local M = orm.model("sbx.typo", { name = orm.fields.Char{} })
function M:shout() return strnig.upper(self.name) end
return M
]] })
      local err = h.error_of(orm.models["sbx.typo"].shout, orm.models["sbx.typo"])
      assert.matches("undefined global 'strnig'", tostring(err), 1, true)
    end)

    it('refuses require "os" and require "io", and the private earnorm.core', function()
      for _, mod in ipairs({ "os", "io", "debug", "earnorm.core", "package" }) do
        local err = load_error({ ["m.lua"] = string.format("local m = require(%q)\nreturn m\n", mod) })
        assert.matches(string.format('require("%s") is not allowed in a model file', mod), err.message, 1, true)
        assert.matches(dir .. "/m.lua:1:", err.message, 1, true)
      end
    end)

    it('require "earnorm" and its public modules work', function()
      local loaded = load({ ["m.lua"] = [[
local orm = require "earnorm"
local fields = require "earnorm.fields"
assert(orm.fields == fields)
return orm.model("sbx.req", { name = fields.Char{} })
]] })
      assert.are.same({ "sbx.req" }, model_names(loaded))
    end)

    it("has no io, load, dofile, debug or package, and only a safe part of os", function()
      for _, name in ipairs({ "io", "load", "loadfile", "dofile", "debug", "package", "collectgarbage" }) do
        local err = load_error({ ["m.lua"] = "local x = " .. name .. "\nreturn x\n" })
        assert.matches("undefined global '" .. name .. "'", err.message, 1, true)
      end
      local loaded = load({ ["m.lua"] = [[
local orm = require "earnorm"
assert(type(os.time()) == "number")
assert(os.execute == nil and os.remove == nil and os.exit == nil)
assert(string.format("%d", 3) == "3" and math.max(1, 2) == 2 and table.concat({ "a" }) == "a")
assert(type(pairs) == "function" and type(pcall) == "function")
return orm.model("sbx.safe_os", { name = orm.fields.Char{} })
]] })
      assert.are.same({ "sbx.safe_os" }, model_names(loaded))
    end)

    it("globals a model file sets stay in its sandbox", function()
      load({ ["a.lua"] = "leaked_global = 42\nassert(leaked_global == 42)\nreturn nil\n" })
      assert.is_nil(rawget(_G, "leaked_global"))
    end)

    it("changes to the standard library tables stay in the sandbox", function()
      local pi, insert, upper = math.pi, table.insert, string.upper
      load({ ["m.lua"] = [[
math.pi = 3
table.insert = nil
string.upper = function() return "patched" end
string.extra = true
assert(math.pi == 3 and string.upper("x") == "patched")
return nil
]] })
      assert.are.equal(pi, math.pi)
      assert.are.equal(insert, table.insert)
      assert.are.equal(upper, string.upper)
      assert.are.equal("X", ("x"):upper())
      assert.is_nil(string.extra)
    end)

    it("each file has a sandbox of its own", function()
      local err = load_error({ ["a.lua"] = "shared = 1\nreturn nil\n",
                               ["b.lua"] = "return shared + 1\n" })
      assert.matches("undefined global 'shared'", err.message, 1, true)
      assert.matches(dir .. "/b.lua:1:", err.message, 1, true)
    end)

    it("a syntax error names the file and line", function()
      local err = load_error({ ["broken.lua"] = "local orm = require 'earnorm'\n\nlocal x = = 1\n" })
      assert.is_true(orm.is_error(err))
      assert.are.equal("EINVAL", err.code)
      assert.matches(dir .. "/broken.lua:3:", err.message, 1, true)
      assert.matches("unexpected symbol near '='", err.message, 1, true)
    end)

    it("a runtime error names the file and line", function()
      local err = load_error({ ["rt.lua"] = "local orm = require 'earnorm'\nlocal t = nil\nreturn t.x\n" })
      assert.is_true(orm.is_error(err))
      assert.are.equal("ERROR", err.code)
      assert.matches(dir .. "/rt.lua:3:", err.message, 1, true)
      assert.matches("attempt to index a nil value", err.message, 1, true)
      err = load_error({ ["e.lua"] = "error('custom stop')\n" })
      assert.matches(dir .. "/e.lua:1: custom stop", err.message, 1, true)
    end)

    it("an earnorm error raised by a model file keeps its code", function()
      local err = load_error({ ["v.lua"] = "local orm = require 'earnorm'\nerror(orm.ValidationError{ 'no', field = 'x' })\n" })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("x", err.field)
    end)

    it("a failing file stops the load, and the load registers nothing", function()
      local err = load_error({ ["1_ok.lua"] = model_file("sbx.partial.ok"),
                               ["2_bad.lua"] = "return nope\n",
                               ["3_never.lua"] = model_file("sbx.partial.never") })
      assert.matches("2_bad.lua:1:", err.message, 1, true)
      assert.is_nil(orm.models["sbx.partial.ok"])
      assert.is_nil(orm.models["sbx.partial.never"])
    end)
  end)

  -- A model file is untrusted code: none of these may reach the host.
  describe("the sandbox against hostile code", function()
    local function fixture(name) return h.src .. "/tests/fixtures/sandbox/" .. name end

    it("every escape attempt of tests/fixtures/sandbox/escapes.lua fails, run by the interpreter", function()
      local out, code = h.run("--db sqlite::memory: --models " .. sh_quote(fixture("escapes.lua"))
        .. [[ -e 'print(orm.models["sbx.escapes"].refused, env["sbx.escapes"]:probe(),]]
        .. [[ rawget(_G, "escaped_global"), getmetatable(""), ("x"):upper(), type(string.dump))']])
      assert.are.equal("72\t7\tnil\tlocked\tX\tfunction\n", out)
      assert.are.equal(0, code)
    end)

    it("the string metatable is locked, for model files and scripts alike", function()
      load({ ["m.lua"] = [[
assert(getmetatable("") == "locked")
assert(getmetatable("").__index == nil)
assert(("ab"):rep(2) == "abab" and ("x=1"):match("(%w)=(%d)") == "x")
local ok, err = pcall(("").dump, print)
assert(not ok and err:find("string.dump is not available to model files", 1, true))
return nil
]] })
      -- scripts too; debug.getmetatable still gives the metatable
      assert.are.equal("locked", getmetatable(""))
      assert.are.equal(string.upper, debug.getmetatable("").__index.upper)
      assert.are.equal("xx", ("x"):rep(2))
      assert.is_function(string.dump)
      assert.matches("string.dump is not available to model files", select(2, pcall(("").dump, print)), 1, true)
    end)

    it("changes to the library tables stay in the file that made them", function()
      load({ ["1_patch.lua"] = [[
string.rep = nil
table.concat = nil
math.floor = nil
utf8.char = nil
coroutine.wrap = nil
os.time = nil
return nil
]],
             ["2_clean.lua"] = [[
assert(string.rep and table.concat and math.floor and utf8.char and coroutine.wrap and os.time)
return nil
]] })
      assert.is_function(string.rep)
      assert.is_function(coroutine.wrap)
      assert.is_function(os.time)
    end)

    it("the earnorm modules are read-only; what a file rawsets stays in that file", function()
      local cases = {
        { "orm.model = print", "earnorm.model is read-only in a model file" },
        { "orm.fields.Char = print", "earnorm.fields.Char is read-only in a model file" },
        { "require('earnorm.fields').Text = print", "earnorm.fields.Text is read-only in a model file" },
        { "orm.Command.CREATE = 9", "earnorm.Command.CREATE is read-only in a model file" },
        { "orm.models['res.x'] = {}", "earnorm.models.res.x is read-only in a model file" },
        { "require('earnorm.errors').wrap = print", "earnorm.errors.wrap is read-only in a model file" },
      }
      for _, c in ipairs(cases) do
        local err = load_error({ ["m.lua"] = "local orm = require 'earnorm'\n" .. c[1] .. "\n" })
        assert.are.equal(dir .. "/m.lua:2: " .. c[2], err.message)
      end
      os.remove(dir .. "/m.lua")
      load({ ["1_shadow.lua"] = [[
local orm = require "earnorm"
rawset(orm, "fields", false)
assert(orm.fields == false)
return nil
]],
             ["2_other.lua"] = [[
local orm = require "earnorm"
assert(orm.fields == require "earnorm.fields" and orm.fields.Char)
return orm.model("sbx.hostile.views", { name = orm.fields.Char{} })
]] })
      assert.is_function(orm.fields.Char)
      assert.is_function(orm.model)
      assert.is_not_nil(orm.models["sbx.hostile.views"])
    end)

    it("orm.connect and orm.load_models are not available in a model file", function()
      local err = load_error({ ["m.lua"] = "local orm = require 'earnorm'\nlocal env = orm.connect('sqlite:///tmp/x.db')\n" })
      assert.are.equal(dir .. "/m.lua:2: earnorm.connect is not available in a model file: "
                       .. "model code works in the env of its records, self.env", err.message)
      err = load_error({ ["m.lua"] = "local orm = require 'earnorm'\nlocal l = orm.load_models('/etc')\n" })
      assert.are.equal(dir .. "/m.lua:2: earnorm.load_models is not available in a model file: "
                       .. "the host loads model files", err.message)
    end)

    it("require loads the public modules from the binary, never a file on package.path", function()
      local lib = tmpdir()
      os.execute("mkdir " .. sh_quote(lib .. "/earnorm"))
      write_file(lib .. "/earnorm/pwn.lua", "PWNED = 'pwn.lua'\nreturn {}\n")
      write_file(lib .. "/earnorm/fields.lua", "PWNED = 'fields.lua'\nreturn {}\n")
      write_file(lib .. "/earnorm/sandbox.lua", "PWNED = 'sandbox.lua'\nreturn {}\n")
      local saved = package.path
      package.path = lib .. "/?.lua;" .. saved
      local ok, err = pcall(load_error, { ["m.lua"] = "local pwn = require 'earnorm.pwn'\nreturn pwn\n" })
      local ok2, loaded = pcall(load, { ["m.lua"] = [[
local orm = require "earnorm"
local fields = require "earnorm.fields"
assert(fields == orm.fields and fields.Char)
return orm.model("sbx.hostile.req", { name = fields.Char{} })
]] })
      package.path = saved
      rmdir(lib)
      assert.is_true(ok, tostring(err))
      assert.is_true(ok2, tostring(loaded))
      assert.are.equal(dir .. '/m.lua:1: require("earnorm.pwn") is not allowed in a model file '
                       .. "(only earnorm, earnorm.fields, earnorm.errors and earnorm.command)", err.message)
      assert.is_nil(rawget(_G, "PWNED"))
      for _, name in ipairs({ "earnorm.sandbox", "earnorm.sandbox.core", "earnorm.cli", "earnorm.host",
                              "earnorm.model", "earnorm.env", "earnorm.recordset" }) do
        err = load_error({ ["m.lua"] = string.format("local m = require(%q)\nreturn m\n", name) })
        assert.matches(string.format('require("%s") is not allowed in a model file', name), err.message, 1, true)
      end
      assert.is_nil(rawget(_G, "PWNED"))
    end)

    it("setmetatable refuses __gc and host metatables; a model's own metatables work as usual", function()
      local err = load_error({ ["m.lua"] = "setmetatable({}, { __gc = function() end })\n" })
      assert.are.equal(dir .. "/m.lua:1: setmetatable: a __gc metamethod is not allowed in a model "
                       .. "file (finalizers run outside the time limit)", err.message)
      err = load_error({ ["m.lua"] = "local orm = require 'earnorm'\nsetmetatable(orm.ValidationError('x'), nil)\n" })
      assert.are.equal(dir .. "/m.lua:2: cannot change a protected metatable", err.message)
      load({ ["m.lua"] = [[
local orm = require "earnorm"
local M = orm.model("sbx.hostile.meta", { name = orm.fields.Char{} })
for _, v in ipairs({ M, orm.fields.Char{}, orm.ValidationError("x"), orm.null, orm, orm.models, _G }) do
  assert(getmetatable(v) == "locked", tostring(v))
  assert(not pcall(setmetatable, v, {}))
end
-- the model's own metatables: every metamethod but __gc
local log = {}
local Vec = {}
Vec.__index = Vec
Vec.__add = function(a, b) return setmetatable({ x = a.x + b.x }, Vec) end
Vec.__tostring = function(v) return "vec(" .. v.x .. ")" end
function Vec:double() return self + self end
local v = setmetatable({ x = 2 }, Vec)
assert(getmetatable(v) == Vec and tostring(v:double()) == "vec(4)")
do local c <close> = setmetatable({}, { __close = function() log[#log + 1] = "closed" end }) end
assert(log[1] == "closed")
local weak = setmetatable({}, { __mode = "k" })
assert(getmetatable(weak).__mode == "k")
local guarded = setmetatable({}, { __metatable = "mine" })
assert(getmetatable(guarded) == "mine" and not pcall(setmetatable, guarded, nil))
assert(setmetatable(v, nil) == v and getmetatable(v) == nil)
return M
]] })
      assert.is_not_nil(orm.models["sbx.hostile.meta"])
    end)

    it("a model file cannot pass for an embedded module (the time limit lets those unwind)", function()
      -- relative to the working directory (the test's own work dir)
      os.execute("mkdir -p earnorm")
      write_file("earnorm/model.lua", "PWNED = true\nreturn nil\n")
      local err = h.error_of(orm.load_models, "earnorm/model.lua")
      os.remove("earnorm/model.lua")
      os.remove("earnorm")
      assert.is_nil(rawget(_G, "PWNED"))
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("earnorm/model.lua: a model file cannot have the name of an embedded module "
                       .. "(load it as ./earnorm/model.lua)", err.message)
    end)

    it("a precompiled (bytecode) model file is refused", function()
      write_file(dir .. "/bin.lua", string.dump(function() return nil end))
      local err = h.error_of(orm.load_models, dir)
      assert.are.equal("EINVAL", err.code)
      assert.matches("attempt to load a binary chunk (mode is 't')", err.message, 1, true)
    end)

    it("pcall, xpcall and coroutines keep Lua's behaviour for ordinary errors", function()
      load({ ["m.lua"] = [[
local ok, e = pcall(error, "plain")
assert(not ok and e == "plain")
assert(select("#", pcall(function() return 1, 2, 3 end)) == 4)
ok, e = xpcall(function() error("deep") end, function(m) return "handled: " .. m end)
assert(not ok and e:find("handled: .*m.lua:4: deep"))
assert(select(2, pcall(xpcall, print, nil)):find("bad argument #2 to 'xpcall'", 1, true))
ok, e = pcall(pcall)
assert(not ok and e:find("bad argument #1 to 'pcall' (value expected)", 1, true))
local gen = coroutine.wrap(function(a) local b = coroutine.yield(a + 1); return b * 2 end)
assert(gen(1) == 2 and gen(5) == 10)
local bad = coroutine.wrap(function() error("boom") end)
ok, e = pcall(bad)
assert(not ok and e:find("m.lua:11: boom", 1, true), e)
ok, e = pcall(bad)
assert(not ok and e == "cannot resume dead coroutine", e)
ok, e = pcall(function() local r = bad(); return r end)
assert(not ok and e:find("m.lua:16: cannot resume dead coroutine", 1, true), e)
local co = coroutine.create(function() local c <close> = setmetatable({}, { __close = function() end }); error("co") end)
ok, e = coroutine.resume(co)
assert(not ok and e:find("m.lua:18: co", 1, true), e)
ok, e = coroutine.close(co)
assert(not ok and e:find("m.lua:18: co", 1, true), e)
assert(coroutine.status(co) == "dead" and coroutine.isyieldable() == false)
return nil
]] })
    end)

    it("table.insert, table.remove, table.move and table.sort behave as Lua's", function()
      load({ ["m.lua"] = [[
local t = { 1, 2, 3 }
table.insert(t, 4); table.insert(t, 1, 0)
assert(table.concat(t, ",") == "0,1,2,3,4")
assert(table.remove(t) == 4 and table.remove(t, 1) == 0 and table.concat(t, ",") == "1,2,3")
assert(table.remove({}) == nil and select("#", table.remove({})) == 1)
local function msg(f, ...) return select(2, pcall(f, ...)) end
assert(msg(table.insert, t, 9, 1) == "bad argument #2 to 'table.insert' (position out of bounds)")
assert(msg(table.insert, t, 1, 2, 3) == "wrong number of arguments to 'insert'")
assert(msg(table.remove, t, 7) == "bad argument #1 to 'table.remove' (position out of bounds)")
assert(msg(table.insert, 5, 1) == "bad argument #1 to 'table.insert' (table expected, got number)")
assert(msg(function() table.insert(t, 9, 1) end):find("m.lua:11: bad argument #2 to 'insert' (position out of bounds)", 1, true))
assert(table.concat(table.move({ 1, 2, 3 }, 1, 3, 2), ",") == "1,1,2,3")
assert(table.concat(table.move({ 1, 2, 3 }, 2, 3, 1), ",") == "2,3,3")
assert(table.concat(table.move({ 1, 2 }, 1, 2, 1, { 9, 9, 9 }), ",") == "1,2,9")
assert(msg(table.move, {}, -1, math.maxinteger, 1) == "bad argument #3 to 'table.move' (too many elements to move)")
assert(msg(table.move, {}, 1, 2, math.maxinteger) == "bad argument #4 to 'table.move' (destination wrap around)")
local log = {}
local proxy = setmetatable({}, { __index = function(_, k) return k * 10 end,
                                 __newindex = function(_, k, v) log[#log + 1] = k .. "=" .. v end,
                                 __len = function() return 3 end })
table.insert(proxy, 1, 5)
assert(table.concat(log, " ") == "4=30 3=20 2=10 1=5")
local s = { 5, 3, 9, 1 }
table.sort(s)
assert(table.concat(s, ",") == "1,3,5,9")
table.sort(s, function(a, b) return a > b end)
assert(table.concat(s, ",") == "9,5,3,1")
table.sort(s, nil)
assert(table.concat(s, ",") == "1,3,5,9")
assert(msg(table.sort, { 1, "x" }):find("attempt to compare string with number", 1, true))
return nil
]] })
    end)

    it("the code blocks of docs/sandbox.md run as model files", function()
      local fh = assert(io.open(h.src .. "/docs/sandbox.md"))
      local text = fh:read("a")
      fh:close()
      local n = 0
      for block in text:gmatch("```lua\n(.-)```") do
        n = n + 1
        local file = string.format("%s/doc%d.lua", dir, n)
        write_file(file, block)
        local ok, err = pcall(orm.load_models, file)
        assert.is_true(ok, string.format("docs/sandbox.md block %d: %s", n, tostring(err)))
      end
      assert.are.equal(2, n)
      -- the first declares a model whose computed field runs in the sandbox later
      local env = h.fresh_env()
      local inv = env["doc.invoice"]:create{ number = "a1", total = "12.3" }
      assert.matches("^INV%-%d%d%d%d/A1 %(12%.30%)$", inv.label)
      assert.is_nil(rawget(_G, "counter"))
      assert.is_function(string.upper)
    end)

    it("os has time and dates only: no environment reads, no commands", function()
      load({ ["m.lua"] = [[
assert(os.getenv == nil and os.execute == nil and os.exit == nil and os.remove == nil)
assert(os.tmpname == nil and os.setlocale == nil and os.rename == nil)
assert(type(os.time()) == "number" and os.date("!%Y", 0) == "1970" and os.difftime(2, 1) == 1)
assert(type(os.clock()) == "number" and math.randomseed == nil and type(math.random(3)) == "number")
return nil
]] })
    end)
  end)

  -- Holes a second hostile review found; each case failed before its fix.
  describe("the sandbox against hostile code, second review", function()
    local function fixture(name) return h.src .. "/tests/fixtures/sandbox/" .. name end

    -- Run the interpreter under `timeout`: before the fixes some of these
    -- crashed it or never returned.
    local function run_bounded(args)
      local p = assert(io.popen("timeout 60 " .. h.bin .. " --db sqlite::memory: " .. args .. " 2>&1"))
      local out = p:read("a")
      local _, _, code = p:close()
      return out, code
    end

    it("a gmatch iterator whose match failed starts afresh: no crash (scripts and model files)", function()
      local code = "local it = ('a'):rep(2e5):gmatch(('a?'):rep(2e5)); print(select(2, pcall(it)), select(2, pcall(it)))"
      local out, status = run_bounded("-e " .. sh_quote(code))
      assert.are.equal("pattern too complex\tpattern too complex\n", out)
      assert.are.equal(0, status)
      out, status = run_bounded("--models " .. sh_quote(fixture("limits.lua"))
        .. [[ -e 'print(orm.models["sbx.limits"].gmatch_twice())']])
      assert.are.equal("pattern too complex\tpattern too complex\n", out)
      assert.are.equal(0, status)
    end)

    it("string.rep of an empty result returns at once, as Lua's says it should", function()
      local out, status = run_bounded([[-e 'print(#string.rep("", math.maxinteger), #(""):rep(math.maxinteger, ""))']])
      assert.are.equal("0\t0\n", out)
      assert.are.equal(0, status)
      assert.are.equal("abab", ("ab"):rep(2))
      assert.are.equal("a,a,a", string.rep("a", 3, ","))
      assert.are.equal("", string.rep("x", 0, "y"))
      assert.matches("resulting string too large", select(2, pcall(string.rep, "x", math.maxinteger)), 1, true)
      load({ ["m.lua"] = [[
assert(#string.rep("", math.maxinteger) == 0 and ("-"):rep(3, "+") == "-+-+-")
return nil
]] })
    end)

    it("os.date in a model file takes a format of at most 1024 bytes", function()
      local err = load_error({ ["m.lua"] = 'local s = os.date(string.rep("%n", 513), 0)\n' })
      assert.are.equal(dir .. "/m.lua:1: bad argument #1 to 'date' (format longer than 1024 bytes, "
                       .. "the limit in a model file)", err.message)
      load({ ["m.lua"] = 'assert(#os.date(string.rep("%Y", 256), 0) == 1024)\nreturn nil\n' })
      assert.are.equal(2400, #os.date(("%Y"):rep(600), 0))  -- scripts keep Lua's
    end)

    it("another file's class and the host's env are out of reach (tests/fixtures/sandbox/foreign)", function()
      local out, status = run_bounded("--models " .. sh_quote(fixture("foreign")) .. " -e " .. sh_quote([[
env:migrate()
local ok, err = pcall(function() return env["sbx.victim"]:create{ name = "evil" } end)
print(orm.models["sbx.attacker"].refused, env["sbx.attacker"]:attack(), ok, err.code)
local v = env["sbx.victim"]:create{ name = "fine", nick = "f" }
print(v:greet(), v:shout(), v.nick)
env["sbx.attacker"]:create{ name = "a" }
print(orm.models["sbx.attacker"].in_operation)
print(env["sbx.attacker"]:in_transaction("in tx"), env["sbx.victim"]:search_count{}, env:ping().ok)
]]))
      assert.are.equal("17\t21\tfalse\tEVALIDATE\nhello fine\tFINE\tf\n"
        .. "ETXNSTATE: env:transaction: not available inside an ORM operation (its handlers, "
        .. "validators and computed fields run in its own atomic scope already)\n"
        .. "2\t2\ttrue\n", out)
      assert.are.equal(0, status)
    end)

    it("the class API works on the class only: not on records, not on another file's class", function()
      local M = orm.model("sbx.second.api", { name = f.Char{} })
      local env = h.fresh_env()
      local recs = env["sbx.second.api"]
      local err = h.error_of(recs.on, recs, "before_create", print)
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("sbx.second.api: on() is a model class method, called here on records; call it "
                       .. "on the class orm.model returned", err.message)
      err = h.error_of(function() recs._constraints[1] = false end)
      assert.matches("sbx.second.api._constraints.1 is read-only", tostring(err), 1, true)
      err = h.error_of(function() M._fields.name = nil end)
      assert.matches("sbx.second.api._fields.name is read-only", tostring(err), 1, true)
      M:constrains({ "name" }, function() end)
      assert.are.equal(1, #M._constraints)
      assert.is_function(M._constraints[1].fn)
      -- name, and the record metadata the engine maintains (docs/models.md)
      local types = {}
      for k, v in pairs(M._fields) do types[k] = v.type end
      assert.are.same({ name = "Char", create_date = "Datetime", write_date = "Datetime" }, types)
      assert.are.same({ "name", "create_date", "write_date" }, { table.unpack(M._field_order) })
      -- a model file sees another file's class as a read-only view
      err = load_error({ ["m.lua"] = 'local orm = require "earnorm"\norm.models["sbx.second.api"].shout = print\n' })
      assert.are.equal(dir .. '/m.lua:2: model sbx.second.api is read-only in this model file: another '
                       .. 'file declared it (to extend it, declare it again with _inherit = "sbx.second.api")',
                       err.message)
      err = load_error({ ["m.lua"] = 'local orm = require "earnorm"\norm.models["sbx.second.api"]:on("before_create", print)\n' })
      assert.matches('sbx.second.api: on(): model sbx.second.api is read-only in this model file', err.message, 1, true)
      -- declaring it again with _inherit gives the file the class
      load({ ["m.lua"] = [[
local orm = require "earnorm"
local M = orm.model("sbx.second.api", { _inherit = "sbx.second.api", extra = orm.fields.Char{} })
function M:shout() return "extended" end
assert(orm.models["sbx.second.api"] == M)
return M
]] })
      assert.are.equal("extended", M.shout())
    end)

    it("records give the env's face: equal to the env, without its private state or host methods", function()
      local e = orm.connect("sqlite::memory:")
      e:migrate()
      local face = e["sbx.second.api"].env
      assert.are.equal(e, face)
      assert.are.equal(e.url, face.url)
      assert.is_nil(face._models)
      assert.are.equal(face, face["sbx.second.api"].env)
      local err = h.error_of(face.close, face)
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("env:close() is not available through the env of records (model code): it belongs "
                       .. "to the host, which owns the env", err.message)
      for _, m in ipairs({ "migrate", "begin", "commit", "rollback", "set_log", "reset_stats", "invalidate" }) do
        assert.matches("env:" .. m .. "() is not available through the env of records",
                       h.error_of(face[m], face).message, 1, true)
      end
      err = h.error_of(function() face.url = "x" end)
      assert.are.equal("env.url: the env of records is read-only", err.message)
      -- what it has: statistics, capabilities, ping, explain, transaction state and handlers
      assert.is_number(face:stats().queries)
      assert.are.same(e:capabilities(), face:capabilities())
      assert.is_true(face:ping().ok)
      assert.are.equal(e:explain("sbx.second.api", { { "name", "=", "x" } }), face:explain("sbx.second.api", { { "name", "=", "x" } }))
      assert.is_false(face:in_transaction())
      assert.are.equal(0, face:transaction_depth())
      local committed, rolled = false, false
      face:transaction(function(env)
        assert.are.equal(1, env:transaction_depth())
        env:on_commit(function() committed = true end)
        env:before_commit(function() end)
        env:on_rollback(function() rolled = true end)
      end)
      assert.is_true(committed)
      assert.is_false(rolled)
      assert.are.equal(face.on, face.on)
      face:on("after_rollback", function() rolled = true end)
      e:begin()
      e:rollback()
      assert.is_true(rolled)
      -- a transaction from the face: fn gets the face; retries are the host's
      local got = face:transaction(function(env) return env == e and env.close ~= e.close end)
      assert.is_true(got)
      err = h.error_of(face.transaction, face, function() end, { retries = 2 })
      assert.matches("retries are not available through the env of records", err.message, 1, true)
      -- handlers get the face too
      local seen
      e:on("after_commit", function(env) seen = env end)
      e:transaction(function() end)
      assert.are.equal(e, seen)
      assert.is_false(rawequal(e, seen))
      -- the host's env keeps its own fields
      e.note = "mine"
      assert.are.equal("mine", e.note)
      assert.are.equal("ENOTFOUND", h.error_of(function() return face.note end).code)  -- a model name there
      e:close()
      assert.matches("closed environment", tostring(h.error_of(function() return face["sbx.second.api"]:search{} end)), 1, true)
    end)

    it("a models directory holds regular files only: a FIFO or a link is an error, never read", function()
      local sub = dir .. "/models"
      os.execute("mkdir " .. sh_quote(sub))
      write_file(dir .. "/secret.txt", "DATABASE_PASSWORD hunter2\n")
      write_file(sub .. "/a.lua", "return nil\n")
      os.execute("mkfifo " .. sh_quote(sub .. "/b.lua"))
      local out, status = run_bounded("--models " .. sh_quote(sub) .. " -e 'print(1)'")
      assert.are.equal(1, status)
      assert.matches("model file '" .. sub .. "/b.lua' is not a regular file (model files must be regular files)", out, 1, true)
      os.remove(sub .. "/b.lua")
      os.execute("ln -s " .. sh_quote(dir .. "/secret.txt") .. " " .. sh_quote(sub .. "/b.lua"))
      local err = h.error_of(orm.load_models, sub)
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("model file '" .. sub .. "/b.lua' is a symbolic link (model files must be regular files, not links)",
                       err.message)
      assert.is_nil(err.message:find("hunter2", 1, true))
      -- the path the host names may be a link
      os.remove(sub .. "/b.lua")
      os.execute("ln -s " .. sh_quote(sub) .. " " .. sh_quote(dir .. "/link"))
      assert.are.same({}, orm.load_models(dir .. "/link"))
    end)

    it("handlers per event are limited to 1000 (orm.on, env:on, Model:on)", function()
      local out, status = run_bounded("-e " .. sh_quote([[
local M = orm.model("sbx.caps", { name = orm.fields.Char{} })
for i = 1, 1000 do orm.on("after_commit", print); env:on("after_rollback", print); M:on("after_write", print) end
for _, f in ipairs({ function() orm.on("after_commit", print) end, function() env:on("after_rollback", print) end,
                     function() M:on("after_write", print) end }) do
  local ok, e = pcall(f)
  print(ok, e.code, e.message)
end
]]))
      assert.are.equal("false\tELIMIT\torm.on: more than 1000 handlers for 'after_commit' (the limit per event)\n"
        .. "false\tELIMIT\tenv:on: more than 1000 handlers for 'after_rollback' (the limit per event)\n"
        .. "false\tELIMIT\tsbx.caps: more than 1000 handlers for 'after_write' (the limit per event and model)\n",
        out)
      assert.are.equal(0, status)
    end)
  end)
end)

describe("model declarations", function()
  it("refuse a field name with '.'", function()
    local err = h.error_of(orm.model, "sbx.bad.dot", { ["a.b"] = f.Char{} })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("sbx.bad.dot", err.model)
    assert.are.equal("a.b", err.field)
    assert.matches("'.' is not allowed in a field name", err.message, 1, true)
    assert.is_nil(orm.models["sbx.bad.dot"])
  end)

  it("refuse a field name with '$'", function()
    local err = h.error_of(orm.model, "sbx.bad.dollar", { ["$set"] = f.Char{} })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("sbx.bad.dollar", err.model)
    assert.are.equal("$set", err.field)
    assert.matches("'$' is not allowed in a field name", err.message, 1, true)
  end)

  it("refuse other characters in a field name", function()
    local err = h.error_of(orm.model, "sbx.bad.space", { ["Bad Name"] = f.Char{} })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("Bad Name", err.field)
    assert.matches("letters, digits and '_'", err.message, 1, true)
  end)

  it("refuse an unknown option", function()
    local err = h.error_of(orm.model, "sbx.bad.opt", { name = f.Char{ requird = true } })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("sbx.bad.opt", err.model)
    assert.are.equal("name", err.field)
    assert.matches("unknown option 'requird'", err.message, 1, true)
    assert.is_nil(orm.models["sbx.bad.opt"])
  end)

  it("refuse a Selection without choices", function()
    local err = h.error_of(orm.model, "sbx.bad.sel", { kind = f.Selection{} })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("kind", err.field)
    assert.are.equal("sbx.bad.sel", err.model)
    assert.matches("a Selection needs choices", err.message, 1, true)
    err = h.error_of(orm.model, "sbx.bad.sel2", { kind = f.Selection{ choices = "a,b" } })
    assert.are.equal("EINVAL", err.code)
    assert.matches("choices must be a list", err.message, 1, true)
  end)

  it("refuse redefining a model without _inherit, and say how to extend it", function()
    orm.model("sbx.redef", { name = f.Char{} })
    local err = h.error_of(orm.model, "sbx.redef", { other = f.Char{} })
    assert.are.equal("ECONFLICT", err.code)
    assert.are.equal("sbx.redef", err.model)
    assert.matches("model sbx.redef is already defined", err.message, 1, true)
    assert.matches('_inherit = "sbx.redef"', err.message, 1, true)
    assert.is_nil(orm.models["sbx.redef"]._fields.other)
  end)

  it("refuse a value that is not a field declaration, and an unknown attribute", function()
    local err = h.error_of(orm.model, "sbx.bad.val", { name = "Char" })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("name", err.field)
    assert.matches("expected a field declaration", err.message, 1, true)
    err = h.error_of(orm.model, "sbx.bad.attr", { _ordr = "name", name = f.Char{} })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("_ordr", err.field)
  end)

  it("refuse a default of the wrong type, naming the model and field", function()
    local err = h.error_of(orm.model, "sbx.bad.default", { n = f.Integer{ default = "abc" } })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("n", err.field)
    assert.are.equal("sbx.bad.default", err.model)
    assert.matches("invalid default", err.message, 1, true)
    assert.matches("sbx.bad.default.n: expected an integer", err.message, 1, true)
    assert.is_nil(orm.models["sbx.bad.default"])
  end)

  it("refuse an unknown _order field, _inherit of an unknown model, and bad options", function()
    local err = h.error_of(orm.model, "sbx.bad.order", { _order = "nope", name = f.Char{} })
    assert.are.equal("EINVAL", err.code)
    assert.matches("cannot order by 'nope'", err.message, 1, true)
    err = h.error_of(orm.model, "sbx.bad.inherit", { _inherit = "sbx.nowhere" })
    assert.are.equal("ENOTFOUND", err.code)
    assert.matches("_inherit names unknown model sbx.nowhere", err.message, 1, true)
    err = h.error_of(orm.model, "sbx.bad.size", { s = f.Char{ size = 0 } })
    assert.are.equal("s", err.field)
    assert.matches("size must be a positive integer", err.message, 1, true)
    err = h.error_of(orm.model, "sbx.bad.ondelete", { p = f.Many2one{ "sbx.bad.ondelete", ondelete = "explode" } })
    assert.matches("ondelete must be", err.message, 1, true)
  end)

  it("a failed declaration leaves no half-declared model behind", function()
    local err = h.error_of(orm.model, "sbx.half", { a = f.Char{}, b = f.Integer{}, c = f.Char{ bogus = 1 } })
    assert.are.equal("c", err.field)
    assert.is_nil(orm.models["sbx.half"])
    local cls = orm.model("sbx.half", { a = f.Char{} })
    assert.is_not_nil(cls._fields.a)
    assert.is_nil(cls._fields.b)
  end)

  it("refuse constrains on an unknown field and an unknown event", function()
    local M = orm.model("sbx.hooks", { name = f.Char{} })
    local err = h.error_of(M.constrains, M, { "nmae" }, function() end)
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("nmae", err.field)
    assert.matches("constrains names unknown field 'nmae'", err.message, 1, true)
    err = h.error_of(M.on, M, "before_party", function() end)
    assert.are.equal("EINVAL", err.code)
    assert.matches("unknown event 'before_party'", err.message, 1, true)
  end)
end)

describe("_inherit", function()
  local Base = orm.model("sbx.inh.base", {
    _order = "name",
    name = f.Char{ required = true },
    n    = f.Integer{ default = 7 },
  })
  function Base:hello() return "hello " .. self.name end
  Base:constrains({ "n" }, function(recs)
    for rec in recs:each() do
      if rec.n and rec.n < 0 then error(orm.ValidationError("n must not be negative")) end
    end
  end)

  it("extends a model in place: a new field, new methods, and migrate adds the column", function()
    local env = h.fresh_env()
    local old = env["sbx.inh.base"]:create{ name = "old", n = 1 }
    local Ext = orm.model("sbx.inh.base", { _inherit = "sbx.inh.base", extra = f.Char{ default = "dflt" } })
    assert.are.equal(Base, Ext)
    function Ext:bye() return "bye " .. self.name end
    local stmts = table.concat(env:migrate(), "\n")
    assert.matches("ADD COLUMN", stmts, 1, true)
    assert.matches("extra", stmts, 1, true)
    assert.are.same({}, env:migrate())  -- nothing left to do
    local new = env["sbx.inh.base"]:create{ name = "new", extra = "given" }
    env:invalidate()
    assert.are.equal("given", new.extra)
    assert.are.equal(1, old.n)           -- existing data kept
    assert.are.equal("dflt", old.extra)  -- existing records get the default
    assert.are.equal("bye new", new:bye())
    assert.are.equal("hello old", old:hello())
    assert.are.equal(1, env["sbx.inh.base"]:search_count{ { "extra", "=", "given" } })
    -- the constraint still runs
    local err = h.error_of(new.write, new, { n = -1 })
    assert.are.equal("EVALIDATE", err.code)
  end)

  it("the table form orm.model{ _inherit = name } extends too", function()
    local cls = orm.model{ _inherit = "sbx.inh.base", more = f.Integer{} }
    assert.are.equal(Base, cls)
    assert.is_not_nil(Base._fields.more)
  end)

  it("into a new model copies the fields, methods, constraints and order", function()
    local Child = orm.model("sbx.inh.child", { _inherit = "sbx.inh.base", age = f.Integer{} })
    assert.are_not.equal(Base, Child)
    function Child:only_child() return "child " .. self.name end
    local env = h.fresh_env()
    local kids = env["sbx.inh.child"]:create{ { name = "b", age = 3 }, { name = "a" } }
    env:invalidate()
    assert.are.same({ 3 }, kids:mapped("age"))
    assert.are.same({ 7, 7 }, kids:mapped("n"))            -- the parent's default
    assert.are.equal("hello b", kids[1]:hello())           -- the parent's method
    assert.are.equal("child a", kids[2]:only_child())
    assert.are.same({ "a", "b" }, env["sbx.inh.child"]:search{}:mapped("name"))  -- the parent's _order
    local err = h.error_of(kids[1].write, kids[1], { n = -5 })     -- the parent's constraint
    assert.are.equal("EVALIDATE", err.code)
    assert.matches("n must not be negative", err.message, 1, true)
    err = h.error_of(env["sbx.inh.child"].create, env["sbx.inh.child"], { age = 1 })  -- required name
    assert.are.equal("name", err.field)
    -- separate tables: the parent is untouched
    assert.are.equal(0, env["sbx.inh.base"]:search_count{})
    assert.is_nil(Base._fields.age)
    assert.is_nil(rawget(Base, "only_child"))
    err = h.error_of(function() return env["sbx.inh.base"]:browse({}).age end)
    assert.matches("has no field or method 'age'", err.message, 1, true)
  end)

  it("works from model files too", function()
    local dir = tmpdir()
    write_file(dir .. "/1_base.lua", [[
local orm = require "earnorm"
local M = orm.model("sbx.inh.file", { name = orm.fields.Char{} })
function M:tag() return "base" end
return M
]])
    write_file(dir .. "/2_ext.lua", [[
local orm = require "earnorm"
local M = orm.model("sbx.inh.file", { _inherit = "sbx.inh.file", color = orm.fields.Char{} })
return M
]])
    write_file(dir .. "/3_new.lua", [[
local orm = require "earnorm"
return orm.model("sbx.inh.file2", { _inherit = "sbx.inh.file", size = orm.fields.Integer{} })
]])
    local ok, loaded = pcall(orm.load_models, dir)
    rmdir(dir)
    assert.is_true(ok, tostring(loaded))
    assert.are.equal(3, #loaded)
    local env = h.fresh_env()
    local r = env["sbx.inh.file2"]:create{ name = "x", color = "red", size = 2 }
    env:invalidate()
    assert.are.equal("red", r.color)
    assert.are.equal(2, r.size)
    assert.are.equal("base", r:tag())
  end)
end)

describe("declaration errors that name the mistake", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmdir(dir) end)

  local function load_error(files)
    for name, text in pairs(files) do write_file(dir .. "/" .. name, text) end
    return h.error_of(orm.load_models, dir)
  end

  it("a related path of one segment that is no field suggests the field", function()
    local err = h.error_of(orm.model, "sbx.rel1", { name = f.Char{}, r = f.Char{ related = "nme" } })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("sbx.rel1.r: related \"nme\": sbx.rel1 has no field 'nme' (did you mean 'name'?)",
                     err.message)
    -- a field, but no relation to go through: as before
    err = h.error_of(orm.model, "sbx.rel2", { name = f.Char{}, r = f.Char{ related = "name" } })
    assert.are.equal('sbx.rel2.r: related "name" must go through a relation ("partner_id.name")',
                     err.message)
  end)

  it("inverse on a plain field says it applies to computed fields", function()
    local err = h.error_of(orm.model, "sbx.inv1", { c = f.Char{ inverse = "_inv" } })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("sbx.inv1.c: option 'inverse' applies to computed fields (give compute =) "
                     .. "and One2many fields, not to a plain Char", err.message)
  end)

  it("misspelt compute, inverse and search methods are reported when the files are loaded", function()
    for i, case in ipairs({
      { 'compute = "_cmp", depends = { "name" }', "compute method '_cmp' is not defined" },
      { 'compute = "_compute_up", depends = { "name" }, inverse = "_inv_upp"',
        "inverse method '_inv_upp' is not defined (did you mean '_inv_up'?)" },
      { 'compute = "_compute_up", depends = { "name" }, search = "_search_upp"',
        "search method '_search_upp' is not defined (did you mean '_search_up'?)" },
    }) do
      local name = "sbx.meth" .. i
      os.execute("rm -f " .. sh_quote(dir) .. "/*.lua")
      local err = load_error({ ["m" .. i .. ".lua"] = string.format([[
local orm = require "earnorm"
local f = orm.fields
local P = orm.model(%q, { name = f.Char{}, up = f.Char{ %s } })
function P:_compute_up() end
function P:_inv_up() end
function P:_search_up() return {} end
return P
]], name, case[1]) })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal(name, err.model)
      assert.are.equal(name .. ".up: " .. case[2], err.message)
    end
  end)
end)

describe("a failed load_models", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmdir(dir) end)

  local function put(sub, files)
    os.execute("mkdir -p " .. sh_quote(dir .. "/" .. sub))
    for name, text in pairs(files) do write_file(dir .. "/" .. sub .. "/" .. name, text) end
    return dir .. "/" .. sub
  end

  it("registers nothing, so loading the fixed files works", function()
    local bad = put("bad", { ["a.lua"] = [[
local orm = require "earnorm"
local A = orm.model("sbx.fail.a", { name = orm.fields.Char{} })
function A:hello() return "from the failed load" end
orm.model("sbx.fail.b", { name = orm.fields.Char{} })
error("half-way failure")
]], ["b.lua"] = 'return require("earnorm").model("sbx.fail.c", { n = require("earnorm").fields.Integer{} })' })
    local err = h.error_of(orm.load_models, bad)
    assert.matches("a.lua:5: half-way failure", tostring(err), 1, true)
    assert.is_nil(orm.models["sbx.fail.a"])
    assert.is_nil(orm.models["sbx.fail.b"])
    -- a failure when the registry completes (a misspelt method) rolls back too
    local typo = put("typo", { ["a.lua"] = [[
local orm = require "earnorm"
return orm.model("sbx.fail.a", { name = orm.fields.Char{}, up = orm.fields.Char{ compute = "_nope", depends = { "name" } } })
]] })
    assert.are.equal("sbx.fail.a.up: compute method '_nope' is not defined",
                     h.error_of(orm.load_models, typo).message)
    assert.is_nil(orm.models["sbx.fail.a"])
    local fixed = put("fixed", { ["a.lua"] = [[
local orm = require "earnorm"
local A = orm.model("sbx.fail.a", { name = orm.fields.Char{}, tag_ids = orm.fields.Many2many{ "sbx.fail.b" } })
function A:hello() return "fixed" end
orm.model("sbx.fail.b", { name = orm.fields.Char{} })
return A
]] })
    local loaded = orm.load_models(fixed)
    assert.are.equal("sbx.fail.a", loaded[1]._name)
    local env = orm.connect("sqlite::memory:")
    env:migrate()
    local a = env["sbx.fail.a"]:create{ name = "x", tag_ids = { { 0, 0, { name = "t" } } } }
    assert.are.equal("fixed", a:hello())
    assert.are.equal(1, env["sbx.fail.b"]:search_count{})
    assert.are.same({ "t" }, a.tag_ids:mapped("name"))
    env:close()
  end)
end)

describe("a failed load that extended an older model", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmdir(dir) end)

  it("cannot be undone: later loads are refused, saying to start a new engine", function()
    -- in a process of its own: the refusal lasts as long as the process
    os.execute("mkdir -p " .. sh_quote(dir .. "/one") .. " " .. sh_quote(dir .. "/two"))
    write_file(dir .. "/one/a.lua", 'return require("earnorm").model("fx.a", { name = require("earnorm").fields.Char{} })')
    write_file(dir .. "/two/a.lua", 'require("earnorm").model("fx.a", { _inherit = "fx.a", n = require("earnorm").fields.Integer{} })\nerror("late")')
    write_file(dir .. "/run.lua", string.format([[
local orm = require "earnorm"
orm.load_models(%q)
print(pcall(orm.load_models, %q))
print(pcall(orm.load_models, %q))
]], dir .. "/one", dir .. "/two", dir .. "/one"))
    local out, code = h.run("--db sqlite://:memory: " .. sh_quote(dir .. "/run.lua"))
    assert.are.equal(0, code, out)
    assert.matches("false\tERROR: [^\n]*two/a.lua:2: late\n", out)
    assert.matches("false\tEINVAL: load_models: an earlier load failed after changing model fx.a, "
      .. "declared before it, which cannot be undone: start a new engine %(or process%) to load "
      .. "models again\n", out)
  end)
end)

describe("a declaration that cannot wait for a later file", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmdir(dir) end)

  it("says so inside require of a helper and inside a C callback", function()
    os.execute("mkdir -p " .. sh_quote(dir .. "/lib"))
    write_file(dir .. "/a.lua", 'require "lib.ext"\nreturn nil\n')
    write_file(dir .. "/lib/ext.lua", [[
local orm = require "earnorm"
return { M = orm.model("sbx.wait.z", { _inherit = "sbx.wait.z", extra = orm.fields.Char{} }) }
]])
    write_file(dir .. "/z.lua", 'return require("earnorm").model("sbx.wait.z", { name = require("earnorm").fields.Char{} })')
    local err = h.error_of(orm.load_models, dir)
    assert.are.equal("ENOTFOUND", err.code)
    assert.are.equal("sbx.wait.z: _inherit names model sbx.wait.z, which no file has declared yet, "
      .. "and this declaration cannot wait for a later file (it runs inside require \"lib.ext\"): "
      .. "declare it at the top level of a model file", err.message)
    assert.is_nil(orm.models["sbx.wait.z"])
    os.execute("rm -rf " .. sh_quote(dir .. "/lib"))
    write_file(dir .. "/a.lua", [[
local orm = require "earnorm"
local out
string.gsub("x", "x", function()
  out = orm.model("sbx.wait.z", { _inherit = "sbx.wait.z", extra = orm.fields.Char{} })
end)
return out
]])
    err = h.error_of(orm.load_models, dir)
    assert.are.equal("sbx.wait.z: _inherit names model sbx.wait.z, which no file has declared yet, "
      .. "and this declaration cannot wait for a later file (it runs inside a C function's "
      .. "callback (string.gsub, table.sort, ...)): declare it at the top level of a model file",
      err.message)
    -- at the top level it waits
    write_file(dir .. "/a.lua", [[
return require("earnorm").model("sbx.wait.z", { _inherit = "sbx.wait.z", extra = require("earnorm").fields.Char{} })
]])
    orm.load_models(dir)
    assert.is_not_nil(orm.models["sbx.wait.z"]._fields.extra)
  end)
end)
