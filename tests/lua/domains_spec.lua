-- Large and deep domains on every backend ($EARNORM_TEST_DB): long chains of
-- one operator (Odoo writes an OR of n leaves with n-1 '|'), alternating
-- operators up to the nesting limit, and the limits the servers set. Each
-- case checks the records found against what the data says, so a domain
-- that is mangled on the way (merged wrongly, truncated, split) fails.
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

orm.model("dom.item", {
  _order = "seq",
  seq   = f.Integer{ index = true },
  name  = f.Char{},
  score = f.Float{},
  day   = f.Date{},
  price = f.Decimal{ digits = { 10, 2 } },
  parent_id = f.Many2one{ "dom.item" },
})

-- a non-stored computed field: nothing in the database to search
local Calc = orm.model("dom.calc", {
  n   = f.Integer{},
  dbl = f.Integer{ compute = "_dbl", depends = { "n" } },
})
function Calc:_dbl()
  for rec in self:each() do rec.dbl = (rec.n or 0) * 2 end
end

local N = 300 -- records: seq 1..N, name "n<seq>", score seq/2, price seq.25

local function prefix(op, leaves)
  local d = {}
  for _ = 2, #leaves do d[#d + 1] = op end
  for _, l in ipairs(leaves) do d[#d + 1] = l end
  return d
end

describe("domains on " .. h.backend, function()
  local env, I

  setup(function()
    env = h.fresh_env()
    I = env["dom.item"]
    local rows = {}
    for i = 1, N do
      rows[i] = { seq = i, name = "n" .. i, score = i / 2,
                  day = string.format("2024-%02d-%02d", i % 12 + 1, i % 28 + 1),
                  price = string.format("%d.25", i) }
    end
    local items = I:create(rows)
    -- every record past the first has the one before it as parent
    for i = 2, N do items[i]:write{ parent_id = items[i - 1] } end
  end)

  teardown(function() env:close() end)

  it("an OR of 100,000 '=' leaves on one field is one list", function()
    local leaves = {}
    for i = 1, 100000 do leaves[i] = { "seq", "=", i * 3 } end
    local d = prefix("|", leaves)
    assert.are.equal(N // 3, I:search_count(d))
    local recs = I:search(d, { limit = 3 })
    assert.are.same({ 3, 6, 9 }, recs:mapped("seq"))
  end)

  it("long lists of every plain type go through (dates, decimals, floats, text)", function()
    local days, prices, scores, names = {}, {}, {}, {}
    for i = 1, 5000 do
      days[i] = string.format("2024-%02d-%02d", i % 12 + 1, i % 28 + 1)
      prices[i] = string.format("%d.25", i)
      scores[i] = i / 2
      names[i] = "n" .. i
    end
    assert.are.equal(N, I:search_count{ { "price", "in", prices } })
    assert.are.equal(N, I:search_count{ { "score", "in", scores } })
    assert.are.equal(N, I:search_count{ { "name", "in", names } })
    assert.are.equal(N, I:search_count{ { "day", "in", days } })
    assert.are.equal(0, I:search_count{ { "price", "not in", prices } })
    prices[#prices + 1] = orm.null
    assert.are.equal(N, I:search_count{ { "price", "in", prices } })
  end)

  it("an AND of 5,000 distinct leaves (1,000 used to be refused by SQLite)", function()
    local leaves = {}
    for i = 1, 5000 do
      leaves[#leaves + 1] = i % 2 == 0 and { "seq", "!=", N + i } or { "score", ">", -i }
    end
    leaves[#leaves + 1] = { "seq", "<=", 10 }
    assert.are.equal(10, I:search_count(leaves))
  end)

  it("an OR of 4,000 range leaves on two fields", function()
    local leaves = {}
    for i = 1, 4000 do
      leaves[#leaves + 1] = i % 2 == 0 and { "seq", ">", N + i } or { "score", "<", -i }
    end
    leaves[#leaves + 1] = { "seq", "=", 7 }
    leaves[#leaves + 1] = { "score", ">=", (N - 1) / 2 }
    local d = prefix("|", leaves)
    assert.are.same({ 7, N - 1, N }, I:search(d):mapped("seq"))
  end)

  it("an OR of 2,000 ANDs, a third of them negated", function()
    local d = {}
    for i = 1, 2000 do
      if i < 2000 then d[#d + 1] = "|" end
      if i % 3 == 0 then d[#d + 1] = "!" end
      d[#d + 1] = "&"
      d[#d + 1] = { "seq", i % 3 == 0 and ">" or "=", i }
      d[#d + 1] = { "name", "=like", "n%" }
    end
    -- seq = i for i % 3 ~= 0, or not (seq > i and name like n%) for i % 3 == 0:
    -- the latter holds for every seq <= 3 (i = 3) and more: all records
    assert.are.equal(N, I:search_count(d))
    d[#d + 1] = { "seq", "<", 5 }
    assert.are.equal(4, I:search_count(d))
  end)

  it("1,000 dotted leaves on one relation make one sub-query", function()
    local leaves = {}
    for i = 1, 1000 do leaves[i] = { "parent_id.seq", "=", i * 10 } end
    local d = prefix("|", leaves)
    env:reset_stats()
    -- the children of seq 10, 20, ... 290 (300 has none)
    assert.are.equal(N // 10 - 1, I:search_count(d))
    local s = env:stats()
    assert.is_true(s.queries <= 3, "queries: " .. tostring(s.queries))
  end)

  it("100,001 '!' cancel out to one negation", function()
    local d = {}
    for i = 1, 100001 do d[i] = "!" end
    d[#d + 1] = { "seq", "<=", N - 2 }
    assert.are.same({ N - 1, N }, I:search(d):mapped("seq"))
  end)

  it("alternating operators nest up to the limit, past it EO_ELIMIT", function()
    local function alternating(n)
      local d = {}
      for i = 1, n do
        -- & (seq != -1) (| (seq = -2) (& ...)): only the innermost leaf decides
        d[#d + 1] = i % 2 == 1 and "&" or "|"
        d[#d + 1] = { "seq", i % 2 == 1 and "!=" or "=", -i }
      end
      d[#d + 1] = { "seq", "=", 5 }
      return d
    end
    assert.are.equal(1, I:search_count(alternating(63)))
    local err = h.error_of(I.search_count, I, alternating(64))
    assert.are.equal("ELIMIT", err.code)
    assert.truthy(err.message:find("domain nests more than 64 levels deep", 1, true), err.message)
    -- dotted paths count a level per dot
    local path = string.rep("parent_id.", 70) .. "seq"
    err = h.error_of(I.search_count, I, { { path, "=", 1 } })
    assert.are.equal("ELIMIT", err.code)
    assert.are.equal(N - 5, I:search_count{ { string.rep("parent_id.", 5) .. "seq", ">=", 1 } })
  end)

  it("a sub-domain nested 62 deep, read in a coroutine (small Lua stack)", function()
    local d = { { "seq", "=", 3 } }
    for _ = 1, 61 do d = { { "parent_id", "any", d } } end
    -- the record whose 61st ancestor is seq 3: seq 64
    local ok, n = pcall(coroutine.wrap(function() return I:search_count(d) end))
    if h.backend == "sqlite" then
      -- SQLite's parser takes 11 nested sub-queries: a clear error, not its own
      assert.is_false(ok)
      assert.are.equal("ELIMIT", n.code)
      assert.truthy(n.message:find("the domain nests too deeply for SQLite's parser", 1, true), n.message)
      d = { { "seq", "=", 3 } }
      for _ = 1, 10 do d = { { "parent_id", "any", d } } end
      assert.are.equal(1, coroutine.wrap(function() return I:search_count(d) end)())
    else
      assert.is_true(ok, tostring(n))
      assert.are.equal(1, n)
    end
  end)

  it("one sub-domain table used twice per level, 30 levels: EO_ELIMIT, not 2^30 leaves", function()
    local d = { { "seq", "=", 1 } }
    for _ = 1, 30 do d = { "|", { "parent_id", "any", d }, { "parent_id", "any", d } } end
    local err = h.error_of(I.search_count, I, d)
    assert.are.equal("ELIMIT", err.code)
    assert.are.equal("domain: more than 1000000 operators and leaves or 10000000 list values (a "
                     .. "table used in several places counts each time)", err.message)
    -- the same shape, 10 levels (2^10 leaves), is fine: the record whose
    -- 10th ancestor is seq 1 (the any leaves merge level by level)
    d = { { "seq", "=", 1 } }
    for _ = 1, 10 do d = { "|", { "parent_id", "any", d }, { "parent_id", "any", d } } end
    assert.are.same({ 11 }, I:search(d):mapped("seq"))
  end)

  it("a domain on a non-stored computed field is refused, naming it", function()
    local C = env["dom.calc"]
    C:create{ { n = 1 }, { n = 200 } }
    local err = h.error_of(C.search, C, { { "dbl", ">", 100 } })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("dbl", err.field)
    assert.truthy(err.message:find("dom.calc: the field is computed and not stored", 1, true), err.message)
  end)

  it("a field path or like pattern with a NUL byte is refused", function()
    local err = h.error_of(I.search, I, { { "name\0junk", "=", "n1" } })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("domain leaf 1: the field name holds a NUL byte", err.message)
    err = h.error_of(I.search, I, { { "name", "like", "\0" } })
    assert.are.equal("EINVAL", err.code)
    assert.truthy(err.message:find("a 'like' pattern cannot hold a NUL byte", 1, true), err.message)
  end)

  if h.backend == "sqlite" or h.backend == "postgresql" then
    it("past the parameters one statement may bind: EO_ELIMIT naming the limit", function()
      local max = h.backend == "sqlite" and 5000 or 10000
      local leaves = {}
      for i = 1, max - 1 do leaves[i] = { "score", ">", i } end
      leaves[#leaves + 1] = { "score", "<", 1 }
      -- the limit's worth of parameters runs: score > 1 or score < 1 (all but seq 2)
      assert.are.equal(N - 1, I:search_count(prefix("|", leaves)))
      leaves[#leaves + 1] = { "score", "<", 2 }
      local err = h.error_of(I.search_count, I, prefix("|", leaves))
      assert.are.equal("ELIMIT", err.code)
      assert.are.equal(string.format(
        "dom.item: the query needs %d parameters; at most %d go to %s in one statement (lists "
        .. "of values count as one: merge '=' leaves on one field into an 'in' list, or split "
        .. "the domain)", max + 1, max, h.backend), err.message)
    end)
  end

  if h.backend == "sqlite" then
    it("a like pattern past SQLite's 50,000 bytes: EO_ELIMIT", function()
      local err = h.error_of(I.search_count, I, { { "name", "like", string.rep("x", 50000) } })
      assert.are.equal("ELIMIT", err.code)
      assert.are.equal("dom.item: the 'like' pattern on 'name' is 50002 bytes; sqlite takes "
                       .. "patterns up to 50000 bytes", err.message)
      assert.are.equal(0, I:search_count{ { "name", "like", string.rep("x", 49998) } })
    end)
  end
end)

-- A table, a record or the environment as the value of a scalar leaf is
-- refused naming the leaf (never compared as its JSON text or its id).
orm.embedded("dom_addr", { city = f.Char{} })
orm.model("dom.tv", {
  name = f.Char{},
  n = f.Integer{},
  data = f.Json{},
  address = f.Embedded{ "dom_addr" },
  parent_id = f.Many2one{ "dom.tv" },
})

describe("table values in scalar domain leaves on " .. h.backend, function()
  local env, T, a

  setup(function()
    env = h.fresh_env()
    T = env["dom.tv"]
    a = T:create{ name = "a", n = 1, data = { k = 1 }, address = { city = "Paris" } }
    T:create{ name = "b", n = 2, parent_id = a }
  end)
  teardown(function() env:close() end)

  local function refused(domain)
    local err = h.error_of(T.search, T, domain)
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("dom.tv", err.model)
    return err.message
  end

  it("a Json value built from one table used in many places is held to 64 MiB of JSON text", function()
    -- 2^40 leaves as text: refused at the limit, not written until memory runs out
    local t = { 1 }
    for _ = 1, 40 do t = { t, t } end
    local err = h.error_of(T.search, T, { { "data", "=", t } })
    assert.are.equal("ELIMIT", err.code)
    assert.truthy(err.message:find("is larger than 67108864 bytes as JSON text (a table used in "
                                   .. "several places is written each time)", 1, true), err.message)
    err = h.error_of(T.create, T, { name = "big", data = t })
    assert.are.equal("ELIMIT", err.code)
    assert.truthy(err.message:find("is larger than 67108864 bytes as JSON text", 1, true), err.message)
    assert.are.equal(0, T:search_count{ { "name", "=", "big" } })
    -- one value of about 1 MiB is fine; the leaves of one domain share the
    -- 64 MiB: a hundred of them are refused, naming the leaf that went past
    local m = { 1 }
    for _ = 1, 18 do m = { m, m } end
    assert.are.equal(0, T:search_count{ { "data", "=", m } })
    local d = {}
    for i = 1, 99 do d[i] = "|" end
    for _ = 1, 100 do d[#d + 1] = { "data", "=", m } end
    err = h.error_of(T.search, T, d)
    assert.are.equal("ELIMIT", err.code)
    assert.truthy(err.message:find('^domain leaf %d+ {"data", "=", ...}: the domain\'s table values '
                                   .. "are more than 67108864 bytes of JSON text together"), err.message)
    -- another limit met after part of the budget went is named as itself
    local deep = { 1 }
    for _ = 1, 300 do deep = { deep } end
    err = h.error_of(T.search, T, { "|", { "data", "=", m }, { "data", "=", deep } })
    assert.are.equal("ELIMIT", err.code)
    assert.truthy(err.message:find("is nested more than 256 levels deep", 1, true), err.message)
  end)

  it("a list, an object, a record or the environment as a Char, Integer or sub-field value", function()
    local hint = " (a list of values takes 'in' or 'not in')"
    assert.are.equal('dom.tv: domain leaf {"name", "=", ...}: expected a value for the Char field '
                     .. "name, got a table" .. hint, refused{ { "name", "=", { "a", "b" } } })
    assert.are.equal('dom.tv: domain leaf {"name", ">", ...}: expected a value for the Char field '
                     .. "name, got a table" .. hint, refused{ { "name", ">", { "a" } } })
    assert.are.equal('dom.tv: domain leaf {"name", "=", ...}: expected a value for the Char field '
                     .. "name, got a table" .. hint, refused{ { "name", "=", { x = 1 } } })
    assert.are.equal('dom.tv: domain leaf {"name", "=", ...}: expected a value for the Char field '
                     .. "name, got a recordset", refused{ { "name", "=", a } })
    assert.are.equal('dom.tv: domain leaf {"name", "=", ...}: expected a value for the Char field '
                     .. "name, got a userdata" .. hint, refused{ { "name", "=", env } })
    assert.are.equal('dom.tv: domain leaf {"n", "!=", ...}: expected a value for the Integer field '
                     .. "n, got a table" .. hint, refused{ { "n", "!=", { 1 } } })
    assert.are.equal('dom.tv: domain leaf {"address.city", "=", ...}: expected a value for the Char '
                     .. "field city, got a table" .. hint, refused{ { "address.city", "=", { "Paris" } } })
    -- behind a relation and inside an any sub-domain
    assert.are.equal('dom.tv: domain leaf {"parent_id.name", "=", ...}: expected a value for the '
                     .. "Char field name, got a table" .. hint,
                     refused{ { "parent_id.name", "=", { "a" } } })
    assert.are.equal('dom.tv: domain leaf {"name", "=", ...}: expected a value for the Char field '
                     .. "name, got a table" .. hint,
                     refused{ { "parent_id", "any", { { "name", "=", { "a" } } } } })
    -- a C host's JSON domain (eo_search_read_json goes through earnorm.host)
    local host = require "earnorm.host"
    local err = h.error_of(host.search_read, env, "dom.tv", orm.json.decode('[["name","=",["a","b"]]]'), {})
    assert.are.equal("EINVAL", err.code)
    assert.are.equal('dom.tv: domain leaf {"name", "=", ...}: expected a value for the Char field '
                     .. "name, got a table" .. hint, err.message)
  end)

  it("lists with in / not in, records on relations and tables on Json still work", function()
    assert.are.equal(2, T:search_count{ { "name", "in", { "a", "b" } } })
    assert.are.equal(1, T:search_count{ { "n", "not in", { 1 } } })
    assert.are.equal(1, T:search_count{ { "parent_id", "=", a } })
    assert.are.equal(1, T:search_count{ { "id", "=", a } })
    assert.are.equal(1, T:search_count{ { "address.city", "=", "Paris" } })
    assert.has_no.errors(function() T:search{ { "data", "=", { k = 1 } } } end)
  end)
end)
