-- What reads give back, on every backend ($EARNORM_TEST_DB): Json values
-- exactly as written (through Lua and through the C API's codec), JSON
-- results where lists are arrays and rows hold every field asked for, and
-- read_group ordered by any of its columns.
--
-- The C API (bindings/engine.c) runs earnorm/host.lua and encodes its
-- result with the codec of orm.json; "through the C API" below is that
-- path: JSON text in, host.lua, JSON text out. tests/c/test_engine.c
-- drives the C functions themselves.
local h = require "helper"
local orm = require "earnorm"
local host = require "earnorm.host"
local f = orm.fields
local J = orm.json

orm.model("res.tag", { name = f.Char{} })
orm.model("res.item", {
  _order = "name",
  name    = f.Char{},
  age     = f.Integer{},
  kind    = f.Selection{ choices = { "a", "b", "c" } },
  price   = f.Decimal{ digits = { 12, 2 } },
  data    = f.Json{},
  tag_ids = f.Many2many{ "res.tag" },
})

-- Equal as JSON values: integers and floats apart, -0.0 apart from 0.0,
-- empty arrays apart from empty objects (as the codec writes them).
local function same_json(a, b, path)
  path = path or "value"
  if math.type(a) ~= math.type(b) or type(a) ~= type(b) then
    return false, string.format("%s: %s (%s) ~= %s (%s)", path, tostring(a), math.type(a) or type(a),
                                tostring(b), math.type(b) or type(b))
  end
  if type(a) == "number" then
    if a ~= b or (a == 0 and 1 / a ~= 1 / b) then
      return false, string.format("%s: %.17g ~= %.17g", path, a, b)
    end
    return true
  end
  if type(a) ~= "table" then
    if a ~= b then return false, string.format("%s: %s ~= %s", path, tostring(a), tostring(b)) end
    return true
  end
  if next(a) == nil or next(b) == nil then
    if J.encode(a) ~= J.encode(b) then
      return false, string.format("%s: %s ~= %s", path, J.encode(a), J.encode(b))
    end
    return true
  end
  for k, v in pairs(a) do
    local ok, why = same_json(v, b[k], path .. "." .. tostring(k))
    if not ok then return false, why end
  end
  for k in pairs(b) do
    if a[k] == nil then return false, path .. "." .. tostring(k) .. ": missing on the left" end
  end
  return true
end

local function assert_same_json(want, got, what)
  local ok, why = same_json(want, got)
  assert(ok, (what or "") .. ": " .. tostring(why))
end

local function nest(n, leaf)
  local v = leaf
  for _ = 1, n do v = { v } end
  return v
end

-- Values a Json field must give back exactly, on every backend.
local VALUES = {
  -- extended-JSON look-alikes are plain objects
  { ["$date"] = 0 },
  { ["$numberLong"] = "5" },
  { ["$regex"] = "a.*", ["$options"] = "i" },
  { ["$binary"] = { base64 = "AAEC", subType = "00" } },
  { ["$numberDouble"] = "NaN" },
  { a = { ["$oid"] = "0123456789abcdef01234567" }, ["$ref"] = "x", ["$id"] = 1 },
  -- numbers keep their type
  math.maxinteger, math.mininteger, 0, -1,
  1.5, 0.1, 3.0, 1e16, 2.0 ^ 63, 1e308, -1e308, 5e-324, 1e-7,
  -- text
  "", "ü€😀", "line\nbreak\t\"quote\"\\ /", "\1\31", "\127",
  -- empty lists and objects apart
  {}, J.object(), { J.object(), {} }, { k = J.object(), l = {} },
  -- null inside, booleans
  { 1, orm.null, 3 }, { a = orm.null, b = false, c = true },
  -- deep (the limit is 256 levels)
  nest(200, "deep"),
}

describe("results on " .. h.backend, function()
  local env
  before_each(function() env = h.fresh_env() end)
  after_each(function() env:close() end)

  describe("Json values read back as written", function()
    it("through Lua, after the cache is dropped", function()
      local P = env["res.item"]
      local recs = {}
      for i, v in ipairs(VALUES) do recs[i] = P:create{ name = "v" .. i, data = v } end
      env:invalidate()
      for i, v in ipairs(VALUES) do
        assert_same_json(v, recs[i].data, "value " .. i .. " " .. J.encode(v):sub(1, 60))
      end
    end)

    it("through search_read and read rows", function()
      local P = env["res.item"]
      for i, v in ipairs(VALUES) do P:create{ name = string.format("v%03d", i), data = v } end
      env:invalidate()
      local rows = P:search_read({}, { fields = { "name", "data" }, order = "name" })
      for i, v in ipairs(VALUES) do
        assert.are.equal(string.format("v%03d", i), rows[i].name)
        assert_same_json(v, rows[i].data, "row " .. i)
      end
    end)

    it("through the C API's JSON: text in, text out, literally", function()
      local P = env["res.item"]
      for i, v in ipairs(VALUES) do
        local text = J.encode({ { name = string.format("v%03d", i), data = v } })
        local ids = J.encode(host.create(env, "res.item", J.decode(text)))
        assert.are.equal(1, #J.decode(ids))
      end
      env:invalidate()
      local out = J.encode(host.search_read(env, "res.item", J.decode("[]"),
                                            J.decode('{"fields":["name","data"],"order":"name"}')))
      local rows = J.decode(out)
      assert.are.equal(#VALUES, #rows)
      for i, v in ipairs(VALUES) do assert_same_json(v, rows[i].data, "row " .. i) end
      -- the text itself: $-keys are keys, numbers keep a fraction
      assert.matches('{"$date":0}', out, 1, true)
      assert.matches('"data":3.0', out, 1, true)
      assert.matches('"data":9223372036854775807', out, 1, true)
      assert.are.equal(#VALUES, P:search_count{})
    end)

    it("-0.0 and integers past 64 bits: defined", function()
      local P = env["res.item"]
      -- past 64 bits JSON integers read as floats (they never wrap)
      assert.are.equal(1e20, J.decode("100000000000000000000"))
      assert.are.equal("float", math.type(J.decode("100000000000000000000")))
      assert.are.equal("integer", math.type(J.decode("-9223372036854775808")))
      -- "-0" is the integer 0; -0.0 is the float, written "-0.0"
      assert.are.equal("integer", math.type(J.decode("-0")))
      assert.are.equal("-0.0", J.encode(-0.0))
      assert.are.equal("10000000000000000.0", J.encode(1e16))
      local r = P:create{ name = "z", data = { -0.0 } }
      env:invalidate()
      assert.are.equal("float", math.type(r.data[1]))
      assert.are.equal(0.0, r.data[1])
      -- PostgreSQL keeps Json as jsonb, whose numbers have no negative zero
      assert.are.equal(h.backend == "postgresql" and 1 / 0.0 or 1 / -0.0, 1 / r.data[1])
    end)
  end)

  describe("JSON the codec refuses, naming where", function()
    it("NaN, infinities, cycles, mixed tables, holes, functions, nesting past the limit", function()
      local cyc = { a = {} }
      cyc.a.back = cyc
      local cases = {
        { 0 / 0, "EINVAL", "is NaN" },
        { { x = { math.huge } }, "EINVAL", "x[1] is infinite" },
        { { list = { -math.huge } }, "EINVAL", "list[1] is infinite" },
        { cyc, "EINVAL", "a.back contains itself (a cycle)" },
        { { 1, 2, name = "x" }, "EINVAL", "mixes list items (2) and named keys (1)" },
        { { [1] = "a", [3] = "c" }, "EINVAL", "is a list with holes (2 items, last index 3)" },
        { { f = print }, "EINVAL", "f is a function" },
        { { [1.5] = 1 }, "EINVAL", "has a number key" },
        { { s = "\255\254" }, "EINVAL", "s is not UTF-8 text" },
        { { s = "a\0b" }, "EINVAL", "s holds a NUL byte" },
        { nest(257, 1), "ELIMIT", "nested more than 256 levels" },
      }
      for i, c in ipairs(cases) do
        local err = h.error_of(J.encode, c[1])
        assert.are.equal(c[2], err.code, "case " .. i)
        assert.matches(c[3], err.message, 1, true)
        -- a Json field says which field
        err = h.error_of(env["res.item"].create, env["res.item"], { data = c[1] })
        assert.are.equal(c[2], err.code, "field case " .. i .. ": " .. err.message)
      end
      assert.are.equal(0, env["res.item"]:search_count{})
    end)

    it("text that is not plain JSON", function()
      local cases = {
        { "NaN", "EINVAL", "NaN and Infinity are not JSON numbers" },
        { "[1, Infinity]", "EINVAL", "NaN and Infinity" },
        { '{"a":1,"a":2}', "EINVAL", 'the key "a" appears twice' },
        { "[1,]", "EINVAL", "invalid JSON at byte" },
        { "1e999", "EINVAL", "out of range" },
        { string.rep("[", 257) .. string.rep("]", 257), "ELIMIT", "nested more than 256 levels" },
      }
      for _, c in ipairs(cases) do
        local err = h.error_of(J.decode, c[1])
        assert.are.equal(c[2], err.code, c[1])
        assert.matches(c[3], err.message, 1, true)
      end
      -- 256 levels are fine both ways
      local deep = J.decode(string.rep("[", 256) .. string.rep("]", 256))
      assert.are.equal(string.rep("[", 256) .. string.rep("]", 256), J.encode(deep))
    end)
  end)

  describe("results as the C API gives them", function()
    it("\"[]\" creates nothing and gives []", function()
      assert.are.equal("[]", J.encode(host.create(env, "res.item", J.decode("[]"))))
      assert.are.equal(0, env["res.item"]:search_count{})
      -- "{}" is one record with its defaults
      assert.are.equal(1, #host.create(env, "res.item", J.decode("{}")))
      assert.are.equal(1, env["res.item"]:search_count{})
    end)

    it("empty results are arrays", function()
      local P = env["res.item"]
      assert.are.equal("[]", J.encode(host.search_read(env, "res.item", J.decode('[["name","=","none"]]'), nil)))
      assert.are.equal("[]", J.encode(host.read(env, "res.item", J.decode("[]"), nil)))
      assert.are.equal("[]", J.encode(P:search{}))
      assert.are.equal("[]", J.encode(P:browse{}))
      local a = P:create{ name = "a" }
      local b = P:create{ name = "b" }
      -- a recordset is its id array
      assert.are.equal(J.encode({ a.id, b.id }), J.encode(P:search({}, { order = "name" })))
      -- x2many values in rows are arrays too
      local rows = J.decode(J.encode(host.search_read(env, "res.item", J.decode("[]"),
                                                      J.decode('{"fields":["tag_ids"],"order":"name"}'))))
      assert.are.equal("[]", J.encode(rows[1].tag_ids))
    end)

    it("rows hold every field asked for: NULL as null", function()
      local P = env["res.item"]
      local t = env["res.tag"]:create{ name = "t" }
      P:create{ name = "full", age = 3, kind = "a", price = "1.50", data = { x = 1 }, tag_ids = { t.id } }
      P:create{ name = "empty" }
      local text = J.encode(host.search_read(env, "res.item", J.decode('[["name","=","empty"]]'),
                                             J.decode('{"fields":["name","age","kind","price","data","tag_ids"]}')))
      for _, k in ipairs({ "age", "kind", "price", "data" }) do
        assert.matches('"' .. k .. '":null', text, 1, true)
      end
      assert.matches('"tag_ids":[]', text, 1, true)
      -- read by id, and with no field list (every field of a row)
      local id = P:search{ { "name", "=", "empty" } }.id
      text = J.encode(host.read(env, "res.item", J.decode(J.encode({ id })), nil))
      assert.matches('"age":null', text, 1, true)
      text = J.encode(host.search_read(env, "res.item", J.decode('[["name","=","empty"]]'), nil))
      assert.matches('"age":null', text, 1, true)
      assert.matches('"data":null', text, 1, true)
    end)

    it("Lua rows leave NULL out (nil), or give orm.null with nulls = true", function()
      local P = env["res.item"]
      P:create{ name = "empty" }
      local row = P:search_read({}, { fields = { "name", "age" } })[1]
      assert.is_nil(row.age)
      row = P:search_read({}, { fields = { "name", "age" }, nulls = true })[1]
      assert.are.equal(orm.null, row.age)
      row = P:search{}:read({ "age", "data" }, { nulls = true })[1]
      assert.are.equal(orm.null, row.age)
      assert.are.equal(orm.null, row.data)
    end)
  end)

  it("capabilities().server names the server and its version", function()
    local want = ({ sqlite = "^SQLite 3%.%d+", postgresql = "^PostgreSQL %d+%.%d+$",
                    mongodb = "^[%a]+ v?%d+%.%d+" })[h.backend]
    assert.matches(want, env:capabilities().server)
  end)

  describe("read_group orders by any of its columns", function()
    local P
    before_each(function()
      P = env["res.item"]
      P:create{
        { name = "x", age = 5, kind = "a", price = "9.50" },
        { name = "y", age = 7, kind = "a", price = "10.25" },
        { name = "z", age = 1, kind = "b", price = "100.00" },
        { name = "w", age = 9, kind = "c" },
        { name = "v", age = 3, kind = "c" },
        { name = "u", age = 3, kind = "c" },
        { name = "t" },
      }
    end)

    local function keys(rows, col)
      local out = {}
      for i, r in ipairs(rows) do out[i] = r[col] == nil and "-" or tostring(r[col]) end
      return table.concat(out, " ")
    end

    local function group(orderby, opts)
      opts = opts or {}
      opts.orderby = orderby
      return P:read_group({}, { "age:sum", "total:sum(price)", "oldest:max(age)" }, { "kind" }, opts)
    end

    it("by a group key, ascending and descending (NULL first ascending)", function()
      assert.are.equal("- a b c", keys(group(nil), "kind"))
      assert.are.equal("- a b c", keys(group("kind"), "kind"))
      assert.are.equal("- a b c", keys(group("kind asc"), "kind"))
      assert.are.equal("c b a -", keys(group("kind desc"), "kind"))
      assert.are.equal("c b a -", keys(group("kind DESC"), "kind"))
    end)

    it("by __count, both ways, ties by the keys", function()
      assert.are.equal("- b a c", keys(group("__count"), "kind"))
      assert.are.equal("c a - b", keys(group("__count desc"), "kind"))
      assert.are.equal("c a b -", keys(group("__count desc, kind desc"), "kind"))
      assert.are.equal("a", keys(group("__count desc", { limit = 1, offset = 1 }), "kind"))
    end)

    it("by an aggregate's name (decimals by amount, NULL last descending)", function()
      assert.are.equal("c a b -", keys(group("age desc"), "kind"))
      assert.are.equal("- b a c", keys(group("age"), "kind"))
      assert.are.equal("b a - c", keys(group("total desc"), "kind"))
      assert.are.equal("- c a b", keys(group("total"), "kind"))
      assert.are.equal("c a b -", keys(group("oldest desc"), "kind"))
    end)

    it("a bad orderby is an error naming it and the closest column", function()
      local err = h.error_of(group, "knid")
      assert.are.equal("EINVAL", err.code)
      assert.matches("cannot order by 'knid' (did you mean 'kind'?)", err.message, 1, true)
      err = h.error_of(group, "kind up")
      assert.matches("the direction must be asc or desc, not 'up'", err.message, 1, true)
      err = h.error_of(group, "name")
      assert.matches("cannot order by 'name'", err.message, 1, true)
      err = h.error_of(P.read_group, P, {}, {}, { "kind" }, { orderby = 5 })
      assert.matches("orderby must be a string", err.message, 1, true)
    end)
  end)
end)
