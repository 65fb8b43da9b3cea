-- Values and migrations that gave a different (or silently wrong) result
-- per backend (issue 9, "silent wrong results"). Runs once per backend
-- ($EARNORM_TEST_DB, tests/CMakeLists.txt): every case must give the same
-- answer or the same error on SQLite, PostgreSQL and MongoDB (FerretDB).
--
-- Migrations change a model's declaration between runs, so those cases run
-- the interpreter on model files written here: a fresh SQLite file per case,
-- or a model (table) of its own on a server.
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

orm.model("hv.val", {
  name  = f.Char{ size = 16 },
  notes = f.Text{},
  kind  = f.Selection{ choices = { "a", "b" } },
  score = f.Float{},
  data  = f.Json{},
  blob  = f.Binary{},
})

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

local function write_file(path, text)
  local fh = assert(io.open(path, "wb"))
  fh:write(text)
  fh:close()
end

-- A model name of its own per case and run (servers keep their tables).
local seq = 0
local function unique_model(prefix)
  seq = seq + 1
  return string.format("hv.%s_%d_%d_%d", prefix, os.time() % 100000, math.random(1, 99999), seq)
end

-- A migration scenario: a database and a directory for model files.
local function scenario()
  local dir = tmpdir()
  local url = h.url
  if h.backend == "sqlite" then url = "sqlite://" .. dir .. "/m.db" end
  local sc = { dir = dir, url = url, n = 0 }
  -- Declare the models (Lua source returning them), then run `code` with
  -- env connected; returns stdout+stderr and the exit status.
  function sc.run(models, code)
    sc.n = sc.n + 1
    local mdir = string.format("%s/models%d", dir, sc.n)
    os.execute("mkdir -p " .. sh_quote(mdir))
    write_file(mdir .. "/m.lua", "local orm = require 'earnorm'\nlocal f = orm.fields\n" .. models)
    write_file(dir .. "/run.lua", code)
    return h.run(string.format("--db %s --models %s %s", sh_quote(url), sh_quote(mdir),
                               sh_quote(dir .. "/run.lua")))
  end
  function sc.done() os.execute("rm -rf " .. sh_quote(dir)) end
  return sc
end

-- The script's last line "ERR|code|model|field|message" or "OK|..." (see report).
local REPORT = [[
local function report(fn)
  local ok, e = pcall(fn)
  if ok then print("OK|" .. tostring(e or "")) return end
  if type(e) ~= "table" then print("ERR|lua|||" .. tostring(e)) return end
  print(string.format("ERR|%s|%s|%s|%s", e.code, e.model or "", e.field or "", e.message))
end
]]

local function parse_report(out)
  local code, model, field, msg = out:match("ERR|([^|]*)|([^|]*)|([^|]*)|([^\n]*)")
  if code then return { code = code, model = model, field = field, message = msg, raw = out } end
  return { ok = out:match("OK|([^\n]*)"), raw = out }
end

describe("hardening: values on " .. h.backend, function()
  local env, V
  before_each(function()
    env = h.fresh_env()
    V = env["hv.val"]
  end)
  after_each(function()
    if env then env:close() end
  end)

  -- -------------------------------------------------------------------
  describe("text fields hold UTF-8 text", function()
    local bad = {
      { "a\0b", "text holds a NUL byte (at byte 1); use a Binary field for bytes" },
      { "\0", "text holds a NUL byte (at byte 0); use a Binary field for bytes" },
      { "ab\255", "text is not valid UTF-8 (byte 0xff at 2); use a Binary field for bytes" },
      { "\xc0\xaf", "text is not valid UTF-8 (byte 0xc0 at 0); use a Binary field for bytes" }, -- overlong
      { "\xed\xa0\x80", "text is not valid UTF-8 (byte 0xed at 0); use a Binary field for bytes" }, -- surrogate
      { "x\xe2\x82", "text is not valid UTF-8 (byte 0xe2 at 1); use a Binary field for bytes" }, -- cut short
    }
    for _, fname in ipairs({ "name", "notes", "kind" }) do
      it(fname .. ": a NUL byte or invalid UTF-8 is refused on create and write, naming the field", function()
        for _, c in ipairs(bad) do
          local err = h.error_of(V.create, V, { [fname] = c[1] })
          assert.are.equal("EINVAL", err.code)
          assert.are.equal("hv.val", err.model)
          assert.are.equal(fname, err.field)
          assert.are.equal("hv.val." .. fname .. ": " .. c[2], err.message)
        end
        assert.are.equal(0, V:search_count{})
        local rec = V:create{ name = "ok", kind = "a" }
        for _, c in ipairs(bad) do
          local err = h.error_of(rec.write, rec, { [fname] = c[1] })
          assert.are.equal("EINVAL", err.code)
          assert.are.equal(fname, err.field)
        end
        env:invalidate()
        assert.are.equal("ok", rec.name)
        assert.are.equal("a", rec.kind)
        assert.is_nil(rec.notes)
      end)
    end

    it("valid UTF-8 of every length reads back byte for byte", function()
      local s = "\xe2\x82\xac \xf0\x9f\x98\x80 \xc3\xa9 \xf4\x8f\xbf\xbf"
      local rec = V:create{ notes = s, name = "\xc3\xa9t\xc3\xa9" }
      env:invalidate()
      assert.are.equal(s, rec.notes)
      assert.are.equal(1, V:search_count{ { "name", "=", "\xc3\xa9t\xc3\xa9" } })
    end)

    it("a domain value with a NUL byte is refused (PostgreSQL would match the text before it)", function()
      V:create{ name = "a" }
      local err = h.error_of(V.search, V, { { "name", "=", "a\0b" } })
      assert.are.equal("EINVAL", err.code)
      assert.matches("text holds a NUL byte", err.message, 1, true)
      err = h.error_of(V.search_count, V, { { "notes", "in", { "x", "\255" } } })
      assert.are.equal("EINVAL", err.code)
      assert.matches("not valid UTF-8", err.message, 1, true)
    end)

    it("Binary keeps any bytes, NUL and invalid UTF-8 included", function()
      local bytes = "a\0b\255\xc0\xaf\0"
      local rec = V:create{ blob = bytes }
      env:invalidate()
      assert.are.equal(bytes, rec.blob)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("NaN and infinities", function()
    it("a Float refuses them on create and write (SQLite stored NULL, PostgreSQL 'NaN', FerretDB dropped the connection)", function()
      for _, c in ipairs({ { 0 / 0, "NaN" }, { math.huge, "Infinity" }, { -math.huge, "-Infinity" } }) do
        local err = h.error_of(V.create, V, { score = c[1] })
        assert.are.equal("EINVAL", err.code)
        assert.are.equal("score", err.field)
        assert.are.equal("hv.val.score: " .. c[2] .. " cannot be stored: a Float holds finite numbers only",
                         err.message)
      end
      local rec = V:create{ score = 1.5 }
      local err = h.error_of(rec.write, rec, { score = 0 / 0 })
      assert.are.equal("EINVAL", err.code)
      -- the connection is fine: a data error is not an outage
      env:invalidate()
      assert.are.equal(1.5, rec.score)
      assert.are.equal(1, V:search_count{})
    end)

    it("a Json value refuses them anywhere inside (JSON has no NaN)", function()
      for _, v in ipairs({ 0 / 0, math.huge, { x = 0 / 0 }, { 1, { -math.huge } } }) do
        local err = h.error_of(V.create, V, { data = v })
        assert.are.equal("EINVAL", err.code)
        assert.are.equal("data", err.field)
        assert.matches("NaN", err.message, 1, true)
      end
      assert.are.equal(0, V:search_count{})
      V:create{ data = { x = 1 } }
      assert.are.equal(1, V:search_count{})
    end)
  end)

  -- -------------------------------------------------------------------
  describe("Json round trip", function()
    -- values whose keys look like the storage's own markers or like
    -- extended JSON: on MongoDB the adapter must not take them for its
    -- escape or for typed values (this also needs the Lua JSON codec to
    -- leave such keys alone, bindings/lua/value.c)
    local values = {
      { ["$date"] = 0 },
      { ["$numberLong"] = "5" },
      { ["$regex"] = "a", ["$options"] = "i" },
      { x = { ["$oid"] = "0123456789abcdef01234567" } },
      { ["$undefined"] = true },
      { ["__json__"] = "x" },
      { ["__json__"] = "x", y = 1 },
      { k = { ["__json__"] = "{}" } },
      { ["a.b"] = 1, ["$"] = 2 },
      { { 1, 2 }, { 3 } },
      { k = { { 1 }, {} } },
      { 1.5, -2, "s", true, false },
      { nested = { deeper = { deepest = { "x" } } } },
      "text",
      42,
      2.5,
    }
    it("any JSON value reads back equal, on every backend", function()
      local recs = {}
      for i, v in ipairs(values) do recs[i] = V:create{ data = v } end
      env:invalidate()
      for i, v in ipairs(values) do
        assert.are.same(v, recs[i].data, "value " .. i)
      end
    end)

    it("equality matches the stored value only", function()
      local a = V:create{ data = { ["$date"] = 0 } }
      V:create{ data = { ["$date"] = 1 } }
      V:create{ data = 0 }
      local found = V:search{ { "data", "=", { ["$date"] = 0 } } }
      assert.are.equal(1, #found)
      assert.are.equal(a.id, found[1].id)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("migrate", function()
    local sc
    before_each(function() sc = scenario() end)
    after_each(function() sc.done() end)

    local function money(name, p, s)
      return string.format("return orm.model(%q, { name = f.Char{}, price = f.Decimal{ digits = { %d, %d } } })\n",
                           name, p, s)
    end

    local LIST = [[
local recs = env[MODEL]:search({}, { order = "name" })
local out = {}
for r in recs:each() do out[#out + 1] = r.name .. "=" .. tostring(r.price) end
print("VALUES|" .. table.concat(out, ","))
]]

    local function values_of(out) return out:match("VALUES|([^\n]*)") end

    local function script(name, body)
      return string.format("local MODEL = %q\n", name) .. REPORT .. body
    end

    it("a Decimal whose scale grows: stored values are rescaled, not reread (12.30 stays 12.30)", function()
      local name = unique_model("dig")
      local out, code = sc.run(money(name, 12, 2), script(name, [[
env:migrate()
env[MODEL]:create{ { name = "a", price = "12.30" }, { name = "b", price = "-0.05" }, { name = "c" } }
]] .. LIST))
      assert.are.equal(0, code, out)
      assert.are.equal("a=12.30,b=-0.05,c=nil", values_of(out))
      out, code = sc.run(money(name, 12, 4), script(name, [[
report(function() return table.concat(env:migrate(), "\n") end)
]] .. LIST))
      assert.are.equal(0, code, out)
      local r = parse_report(out)
      assert.is_not_nil(r.ok, out)
      assert.matches(name .. ".price: digits (12, 2) -> (12, 4): stored values rescaled", out, 1, true)
      assert.are.equal("a=12.3000,b=-0.0500,c=nil", values_of(out))
      -- and values written now are exact at the new scale
      out = sc.run(money(name, 12, 4), script(name, [[
env[MODEL]:create{ name = "d", price = "1.2345" }
report(function() return #env:migrate() end)
]] .. LIST))
      assert.are.equal("0", parse_report(out).ok)  -- nothing left to do
      assert.are.equal("a=12.3000,b=-0.0500,c=nil,d=1.2345", values_of(out))
    end)

    it("a Decimal whose precision grows keeps its values", function()
      local name = unique_model("prec")
      sc.run(money(name, 5, 2), script(name, 'env:migrate() env[MODEL]:create{ name = "a", price = "999.99" }'))
      local out = sc.run(money(name, 9, 2), script(name, [[
report(function() env:migrate() end)
env[MODEL]:create{ name = "b", price = "1234567.89" }
]] .. LIST))
      assert.is_not_nil(parse_report(out).ok, out)
      assert.are.equal("a=999.99,b=1234567.89", values_of(out))
    end)

    it("a change that would round or overflow a stored value is refused, naming model, field and digits; nothing changes", function()
      local name = unique_model("lossy")
      sc.run(money(name, 12, 2), script(name, [[
env:migrate()
env[MODEL]:create{ { name = "a", price = "12.34" }, { name = "b", price = "5.10" }, { name = "c", price = "1.25" } }
]]))
      -- scale 2 -> 1 would round 12.34 and 1.25
      local out = sc.run(money(name, 12, 1), script(name, "report(function() env:migrate() end)\n"))
      local r = parse_report(out)
      assert.are.equal("EINVAL", r.code, out)
      assert.are.equal(name, r.model)
      assert.are.equal("price", r.field)
      assert.are.equal(name .. ".price: digits change from (12, 2) to (12, 1), but 2 stored values " ..
                       "would not fit without rounding (e.g. 12.34); migrate never rounds data: " ..
                       "change those values first, or keep the digits", r.message)
      -- precision 12 -> 3 would overflow 12.34 (3 integer digits needed: 1)
      out = sc.run(money(name, 3, 2), script(name, "report(function() env:migrate() end)\n"))
      r = parse_report(out)
      assert.are.equal("EINVAL", r.code, out)
      assert.matches("digits change from (12, 2) to (3, 2), but 1 stored value would not fit", r.message, 1, true)
      -- the data and the recorded digits are untouched
      out = sc.run(money(name, 12, 2), script(name, "report(function() return #env:migrate() end)\n" .. LIST))
      assert.are.equal("0", parse_report(out).ok, out)
      assert.are.equal("a=12.34,b=5.10,c=1.25", values_of(out))
    end)

    it("a shrinking scale is applied when every stored value fits", function()
      local name = unique_model("fit")
      sc.run(money(name, 12, 4), script(name, [[
env:migrate()
env[MODEL]:create{ { name = "a", price = "12.3000" }, { name = "b", price = "-7" } }
]]))
      local out = sc.run(money(name, 12, 1), script(name, "report(function() env:migrate() end)\n" .. LIST))
      assert.is_not_nil(parse_report(out).ok, out)
      assert.are.equal("a=12.3,b=-7.0", values_of(out))
    end)

    it("--dry-run style migrate{ dry_run = true } reports the rescale and changes nothing", function()
      local name = unique_model("dry")
      sc.run(money(name, 12, 2), script(name, 'env:migrate() env[MODEL]:create{ name = "a", price = "1.50" }'))
      local out = sc.run(money(name, 12, 3), script(name, [[
print(table.concat(env:migrate{ dry_run = true }, "\n"))
]]))
      assert.matches(name .. ".price: digits (12, 2) -> (12, 3)", out, 1, true)
      out = sc.run(money(name, 12, 3), script(name, "env:migrate()\n" .. LIST))
      assert.are.equal("a=1.500", values_of(out)) -- the real one still had the work to do
    end)

    it("adding a field with a default gives existing records the default, once", function()
      local name = unique_model("fill")
      local v1 = string.format("return orm.model(%q, { name = f.Char{} })\n", name)
      local v2 = string.format([[
return orm.model(%q, { name = f.Char{}, level = f.Integer{ default = 3 },
                       tag = f.Char{ default = "x" }, note = f.Char{} })
]], name)
      local out, code = sc.run(v1, script(name, [[
env:migrate()
env[MODEL]:create{ { name = "a" }, { name = "b" } }
]]))
      assert.are.equal(0, code, out)
      local show = [[
local out = {}
for r in env[MODEL]:search({}, { order = "name" }):each() do
  out[#out + 1] = string.format("%s:%s:%s:%s", r.name, tostring(r.level), tostring(r.tag), tostring(r.note))
end
print("ROWS|" .. table.concat(out, ","))
]]
      out, code = sc.run(v2, script(name, [[
report(function() return table.concat(env:migrate(), "\n") end)
]] .. show))
      assert.are.equal(0, code, out)
      assert.matches(name .. ".level: existing records set to the default", out, 1, true)
      assert.matches(name .. ".tag: existing records set to the default", out, 1, true)
      assert.are.equal("a:3:x:nil,b:3:x:nil", out:match("ROWS|([^\n]*)"))
      -- a value cleared afterwards stays cleared: the field is no longer new
      out = sc.run(v2, script(name, [[
env[MODEL]:search{ { "name", "=", "b" } }:write{ level = orm.null, tag = orm.null }
env[MODEL]:create{ name = "c", level = orm.null }
report(function() return #env:migrate() end)
]] .. show))
      assert.are.equal("0", parse_report(out).ok, out)
      assert.are.equal("a:3:x:nil,b:nil:nil:nil,c:nil:x:nil", out:match("ROWS|([^\n]*)"))
    end)

    -- A script that declares other digits than the database recorded and
    -- does not migrate (or whose migrate was refused) read 12.30 stored at
    -- scale 4 as 12300.0 at scale 1; a Decimal declared Integer read it as
    -- 1230 (12 on PostgreSQL), even after a migrate on SQLite and MongoDB.
    -- Now the env checks each model once before its first statement and
    -- refuses it, naming what to do.
    describe("a Decimal declared otherwise than the database holds it (digits, type), without migrate", function()
      local function refusal(name, p0, s0, p1, s1)
        return string.format("%s.price: the database holds this Decimal with digits (%d, %d) but the " ..
                             "model declares (%d, %d), so its values would be read and written at the " ..
                             "wrong scale: run migrate (it rescales the stored values, or says why it " ..
                             "cannot)", name, p0, s0, p1, s1)
      end

      -- every report line of a script's output, in order
      local function reports(out)
        local list = {}
        for line in out:gmatch("[^\n]+") do
          if line:match("^ERR|") or line:match("^OK|") then list[#list + 1] = parse_report(line) end
        end
        return list
      end

      local function seed(name, p, s, values)
        local out, code = sc.run(money(name, p, s), script(name, "env:migrate()\nenv[MODEL]:create{ " ..
                                                          values .. " }\n" .. LIST))
        assert.are.equal(0, code, out)
        return values_of(out)
      end

      it("reads, counts and writes are refused naming model, field and both digits; nothing is misread", function()
        local name = unique_model("nomig")
        assert.are.equal("a=12.3000,b=-0.0500",
                         seed(name, 12, 4, '{ name = "a", price = "12.30" }, { name = "b", price = "-0.05" }'))
        local out = sc.run(money(name, 12, 1), script(name, [[
report(function() return #env[MODEL]:search{} end)
report(function() return env[MODEL]:search_count{ { "price", ">", 10 } } end)
report(function() return env[MODEL]:search_read({}, { fields = { "price" } })[1].price end)
report(function() return env[MODEL]:create{ name = "c", price = "1.5" }.id end)
]]))
        local r = reports(out)
        assert.are.equal(4, #r, out)
        for i = 1, 4 do
          assert.are.equal("EINVAL", r[i].code, out)
          assert.are.equal(name, r[i].model)
          assert.are.equal("price", r[i].field)
          assert.are.equal(refusal(name, 12, 4, 12, 1), r[i].message)
        end
        -- the data is as it was, and reads right with the digits it has
        out = sc.run(money(name, 12, 4), script(name, LIST))
        assert.are.equal("a=12.3000,b=-0.0500", values_of(out))
      end)

      it("right after a refused migrate in the same env", function()
        local name = unique_model("refmig")
        seed(name, 12, 4, '{ name = "a", price = "12.3456" }')
        local out = sc.run(money(name, 12, 1), script(name, [[
report(function() env:migrate() end)
report(function() return tostring(env[MODEL]:search{}.price) end)
]]))
        local r = reports(out)
        assert.are.equal(2, #r, out)
        assert.are.equal("EINVAL", r[1].code, out)
        assert.matches("digits change from (12, 4) to (12, 1), but 1 stored value would not fit", r[1].message, 1, true)
        assert.are.equal("EINVAL", r[2].code, out)
        assert.are.equal(refusal(name, 12, 4, 12, 1), r[2].message)
      end)

      it("a migrate in the same env lifts it: the check is made again", function()
        local name = unique_model("thenmig")
        seed(name, 12, 4, '{ name = "a", price = "12.30" }, { name = "b", price = "-7" }')
        local out = sc.run(money(name, 12, 1), script(name, [[
report(function() return #env[MODEL]:search{} end)
report(function() env:migrate() end)
]] .. LIST))
        local r = reports(out)
        assert.are.equal(refusal(name, 12, 4, 12, 1), r[1].message, out)
        assert.is_not_nil(r[2].ok, out)
        assert.are.equal("a=12.3,b=-7.0", values_of(out))
      end)

      it("a migrate by another env lifts it at the next use: a refusal is not remembered", function()
        local name = unique_model("othermig")
        seed(name, 12, 4, '{ name = "a", price = "12.30" }')
        local out = sc.run(money(name, 12, 1), script(name, [[
report(function() return #env[MODEL]:search{} end)
local other = orm.connect{ database = env.url }
other:migrate()
other:close()
]] .. LIST))
        local r = reports(out)
        assert.are.equal(refusal(name, 12, 4, 12, 1), r[1].message, out)
        assert.are.equal("a=12.3", values_of(out))
      end)

      it("a change of precision only is refused too (PostgreSQL's numeric(p, s) holds both)", function()
        local name = unique_model("precnomig")
        seed(name, 12, 2, '{ name = "a", price = "1.25" }')
        local out = sc.run(money(name, 9, 2), script(name, "report(function() return #env[MODEL]:search{} end)\n"))
        local r = reports(out)
        assert.are.equal("EINVAL", r[1].code, out)
        assert.are.equal(refusal(name, 12, 2, 9, 2), r[1].message)
      end)

      -- the same declaration with price as another type
      local function as_type(name, ftype)
        return string.format("return orm.model(%q, { name = f.Char{}, price = f.%s{} })\n", name, ftype)
      end
      local function type_refusal(name, held, declared)
        return string.format("%s.price: the database holds this field as %s but the model declares " ..
                             "%s, so its values would be read and written wrongly; migrate does not " ..
                             "change a field's type (data could be lost): convert the data by hand, or " ..
                             "declare the field as it was", name, held, declared)
      end

      it("a Decimal declared as an Integer is refused, by migrate too (12.30 read as 1230 or 12)", function()
        local name = unique_model("dec2int")
        seed(name, 12, 2, '{ name = "a", price = "12.30" }')
        local held = h.backend == "postgresql" and "numeric(12, 2)" or "Decimal (12, 2)"
        local out = sc.run(as_type(name, "Integer"), script(name, [[
report(function() return env[MODEL]:search{}.price end)
report(function() env:migrate() end)
report(function() return env[MODEL]:search{}.price end)
]]))
        local r = reports(out)
        assert.are.equal(3, #r, out)
        assert.are.equal(type_refusal(name, held, "Integer"), r[1].message, out)
        assert.are.equal("EINVAL", r[2].code, out)    -- migrate refuses the type change
        assert.are.equal("price", r[2].field)
        assert.are.equal(type_refusal(name, held, "Integer"), r[3].message)
        out = sc.run(money(name, 12, 2), script(name, LIST))
        assert.are.equal("a=12.30", values_of(out))   -- untouched
      end)

      -- on SQLite, Integer and Decimal are both INTEGER columns: the record
      -- of the Integer column (made by its migrate) tells them apart
      do
        it("an Integer declared as a Decimal is refused, by migrate too (5 read as 0.05)", function()
          local name = unique_model("int2dec")
          local out, code = sc.run(as_type(name, "Integer"), script(name, [[
env:migrate()
env[MODEL]:create{ name = "a", price = 5 }
]]))
          assert.are.equal(0, code, out)
          local held = h.backend == "postgresql" and "bigint" or "Integer"
          out = sc.run(money(name, 12, 2), script(name, [[
report(function() return env[MODEL]:search{}.price end)
report(function() env:migrate() end)
]]))
          local r = reports(out)
          assert.are.equal(type_refusal(name, held, "Decimal (12, 2)"), r[1].message, out)
          assert.are.equal("EINVAL", r[2].code, out)
        end)
      end

      it("is checked once per model per env, not per query", function()
        local name = unique_model("once")
        seed(name, 12, 2, '{ name = "a", price = "1.25" }')
        local out = sc.run(money(name, 12, 2), script(name, [[
env:reset_stats()
local M = env[MODEL]
M:search{}
local first = env:stats().by_kind.other
assert(env:stats().queries == 1, "the check is not a data query")
for _ = 1, 3 do
  M:search_count{}
  M:search_read({}, { fields = { "price" } })
  M:search{}:write{ price = "2.50" }
end
print(string.format("CHECKS|%d|%d", first, env:stats().by_kind.other))
]] .. LIST))
        local first, last = out:match("CHECKS|(%d+)|(%d+)")
        assert.is_not_nil(first, out)
        assert.is_true(tonumber(first) >= 1, out)   -- the check ran, before the first search
        assert.are.equal(first, last)               -- and never again
        assert.are.equal("a=2.50", values_of(out))
      end)
    end)
  end)
end)
