-- Composition: sub-record types (orm.embedded), Embedded and List fields,
-- on the backend under test (EARNORM_TEST_DB): values, stored forms read
-- with the raw driver (sqlite3, psql, pymongo), checks and their paths,
-- domains on sub-fields and their query counts.
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

orm.embedded("comp_address", {
  street  = f.Char{},
  city    = f.Char{ required = true },
  zip     = f.Char{ size = 10 },
  country = f.Char{ default = "FR" },
  kind    = f.Selection{ choices = { "home", "work" } },
  floor   = f.Integer{},
})
orm.embedded("comp_line", {
  sku   = f.Char{ required = true },
  qty   = f.Integer{ min = 1, default = 1 },
  price = f.Float{},
  ok    = f.Boolean{},
  day   = f.Date{},
  at    = f.Datetime{},
})
orm.model("comp.partner", {
  name    = f.Char{},
  address = f.Embedded{ "comp_address" },
  billing = f.Embedded{ "comp_address", required = true, default = function() return { city = "Nowhere" } end },
  items   = f.List{ f.Embedded{ "comp_line" } },
})

local Ship = orm.model("comp.ship", {
  dest  = f.Embedded{ "comp_address" },
  lines = f.List{ f.Embedded{ "comp_line" } },
  owner_id = f.Many2one{ "comp.partner" },
  label = f.Char{ compute = "_compute_label", depends = { "dest.city" }, store = true },
  units = f.Integer{ compute = "_compute_units", depends = { "lines.qty" }, store = true },
})
function Ship:_compute_label()
  for rec in self:each() do rec.label = rec.dest and rec.dest.city:upper() or "?" end
end
function Ship:_compute_units()
  for rec in self:each() do
    local n = 0
    for _, l in ipairs(rec.lines or {}) do n = n + l.qty end
    rec.units = n
  end
end

orm.model("comp.tracked", {
  name    = f.Char{},
  address = f.Embedded{ "comp_address", tracking = true },
  items   = f.List{ f.Embedded{ "comp_line" }, tracking = true },
})

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The stored value of `column` of the record named `name`, read with the
-- backend's own driver and decoded (nil for NULL / a missing key).
local function raw(column, name)
  local cmd
  if h.backend == "sqlite" then
    local path = h.url:match("^sqlite://(.+)$")
    cmd = string.format("sqlite3 %s %s", sh_quote(path),
      sh_quote(string.format("SELECT %s FROM comp_partner WHERE name = '%s'", column, name)))
  elseif h.backend == "postgresql" then
    cmd = string.format("psql %s -Atc %s", sh_quote(h.url),
      sh_quote(string.format("SELECT %s FROM comp_partner WHERE name = '%s'", column, name)))
  else
    cmd = string.format("python3 -c %s %s %s %s", sh_quote([[
import sys, json, pymongo
db = pymongo.MongoClient(sys.argv[1]).get_default_database()
d = db["comp.partner"].find_one({"name": sys.argv[2]}) or db["comp_partner"].find_one({"name": sys.argv[2]})
v = d.get(sys.argv[3]) if d else None
print("" if v is None else json.dumps(v))
]]), sh_quote(h.url), sh_quote(name), sh_quote(column))
  end
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  assert(ok, "raw driver failed: " .. out)
  out = out:gsub("%s+$", "")
  if out == "" then return nil end
  return orm.json.decode(out)
end

local function keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks)
  return table.concat(ks, ",")
end

describe("composition on " .. h.backend, function()
  local env, P

  before_each(function()
    env = h.fresh_env()
    P = env["comp.partner"]
  end)
  after_each(function() env:close() end)

  describe("declaring sub-record types", function()
    it("refuses unknown options, relational and nested fields, naming them", function()
      local e = h.error_of(orm.embedded, "comp_bad1", { city = f.Char{ requird = true } })
      assert.equal("EINVAL", e.code)
      assert.matches("comp_bad1.city: unknown option 'requird' (did you mean 'required'?)", e.message, 1, true)
      e = h.error_of(orm.embedded, "comp_bad2", { p = f.Many2one{ "comp.partner" } })
      assert.matches("comp_bad2.p: relational fields are not supported inside an embedded record", e.message, 1, true)
      e = h.error_of(orm.embedded, "comp_bad3", { a = f.Embedded{ "comp_address" } })
      assert.matches("cannot hold Embedded or List fields", e.message, 1, true)
      e = h.error_of(orm.embedded, "comp_bad4", { a = f.Char{ index = true } })
      assert.matches("do not apply inside an embedded record", e.message, 1, true)
      e = h.error_of(orm.embedded, "comp_bad5", { a = f.Char{ default = function() return "x" end } })
      assert.matches("must be a value, not a function", e.message, 1, true)
      e = h.error_of(orm.embedded, "comp_bad6", { _description = "x" })
      assert.matches("takes no attributes", e.message, 1, true)
      -- nothing of a refused declaration is left behind
      assert.no_error(function() orm.embedded("comp_bad1", { city = f.Char{} }) end)
    end)

    it("refuses a type declared twice and List elements that are not Embedded", function()
      local e = h.error_of(orm.embedded, "comp_address", { x = f.Char{} })
      assert.equal("ECONFLICT", e.code)
      assert.matches("embedded type comp_address is already declared", e.message, 1, true)
      e = h.error_of(f.List, { f.Char{} })
      assert.matches("fields.List: the element must be fields.Embedded{ \"type\" }, got fields.Char{}", e.message, 1, true)
      e = h.error_of(f.List, { f.Embedded{ "comp_line", required = true } })
      assert.matches("option 'required' of the element does not apply", e.message, 1, true)
      e = h.error_of(orm.model, "comp.bad7", { a = f.Embedded{ "comp_address", default = { city = "x" } } })
      assert.matches("comp.bad7.a: a default for an Embedded or List field must be a function", e.message, 1, true)
    end)
  end)

  it("names an unknown type and refuses dependencies on sub-fields (in a fresh interpreter)", function()
    local out, code = h.run("--db sqlite::memory: -e " .. sh_quote([[
      local orm = require "earnorm"; local f = orm.fields
      orm.embedded("addr", { city = f.Char{} })
      orm.model("x.a", { a = f.Embedded{ "adr" } })
      env:migrate()]]))
    assert.not_equal(0, code)
    assert.matches("ENOTFOUND: x.a.a: unknown embedded type 'adr' (did you mean 'addr'?)", out, 1, true)
    out, code = h.run("--db sqlite::memory: -e " .. sh_quote([[
      local orm = require "earnorm"; local f = orm.fields
      orm.embedded("addr", { city = f.Char{} })
      orm.model("x.a", { a = f.Embedded{ "addr" }, c = f.Char{ compute = "_c", depends = { "a.cty" } } })
      env:migrate()]]))
    assert.not_equal(0, code)
    assert.matches("x.a.c: depends on \"a.cty\": embedded type addr has no sub-field 'cty' (did you mean 'city'?)", out, 1, true)
    out, code = h.run("--db sqlite::memory: -e " .. sh_quote([[
      local orm = require "earnorm"; local f = orm.fields
      orm.embedded("addr", { city = f.Char{} })
      orm.model("x.a", { a = f.List{ f.Embedded{ "addr" } }, c = f.Char{ compute = "_c", depends = { "a.city.x" } } })
      env:migrate()]]))
    assert.not_equal(0, code)
    assert.matches("x.a.c: depends on \"a.city.x\": 'city.x' is a sub-field of addr: sub-records do not nest", out, 1, true)
  end)

  it("recomputes a field that depends on a sub-field when the Embedded or List value changes", function()
    local S = env["comp.ship"]
    local s = S:create{ dest = { city = "Paris" }, lines = { { sku = "a", qty = 2 }, { sku = "b" } } }
    assert.equal("PARIS", s.label)
    assert.equal(3, s.units)
    s:write{ dest = { city = "Lyon" } }
    assert.equal("LYON", s.label)
    s:write{ lines = { { sku = "a", qty = 7 } } }
    assert.equal(7, s.units)
    s:write{ dest = orm.null, lines = orm.null }
    assert.equal("?", s.label)
    assert.equal(0, s.units)
    -- ordered by a Many2one path and a sub-field (MongoDB sorts these in C)
    local z, y = P:create{ name = "Z" }, P:create{ name = "Y" }
    S:create{ owner_id = z.id, dest = { city = "Paris" } }
    S:create{ owner_id = z.id, dest = { city = "Lyon" } }
    S:create{ owner_id = y.id, dest = { city = "Rome" } }
    assert.equal("ROME,PARIS,LYON", table.concat(S:search({ { "owner_id", "!=", orm.null } },
      { order = "owner_id.name, dest.city desc" }):mapped("label"), ","))
    -- stored: a fresh read from the backend has the new values
    env:invalidate()
    assert.equal(1, S:search_count{ { "label", "=", "?" }, { "units", "=", 0 } })
  end)

  it("tracks an Embedded or List field: history holds the old and new values as JSON", function()
    local T = env["comp.tracked"]
    local r = T:create{ name = "t", address = { city = "Paris" } }
    r:write{ address = { city = "Lyon", floor = 2 }, items = { { sku = "a", qty = 2 } } }
    r:write{ name = "u" }                        -- untracked: no entry
    r:write{ address = orm.null }
    local hist = r:history()
    assert.equal(3, #hist)
    local last, mid, first = hist[1].changes, hist[2].changes, hist[3].changes
    assert.equal("create", hist[3].operation)
    assert.same({ city = "Paris", country = "FR" }, first.address.new)
    assert.same({ city = "Lyon", country = "FR", floor = 2 }, mid.address.new)
    assert.same({ city = "Paris", country = "FR" }, mid.address.old)
    assert.same({ { sku = "a", qty = 2 } }, mid.items.new)
    assert.equal(orm.null, mid.items.old)
    assert.same({ city = "Lyon", country = "FR", floor = 2 }, last.address.old)
    assert.equal(orm.null, last.address.new)
    assert.is_nil(last.items)
    local e = h.error_of(orm.model, "comp.bad_ix", { a = f.Embedded{ "comp_address", index = true } })
    assert.equal("EINVAL", e.code)
    assert.matches("comp.bad_ix.a: unique and index do not apply to Embedded and List fields", e.message, 1, true)
  end)

  describe("values", function()
    it("reads a read-only value object with the defaults filled in, stored as one JSON value", function()
      local a = P:create{ name = "A", address = { city = "Paris", zip = "75001" } }
      local addr = a.address
      assert.equal("userdata", type(addr))
      assert.equal("Paris", addr.city)
      assert.equal("75001", addr.zip)
      assert.equal("FR", addr.country)    -- the sub-field's default
      assert.is_nil(addr.street)
      assert.equal("city,country,zip", keys((function()
        local t = {}
        for k, v in pairs(addr) do t[k] = v end
        return t
      end)()))
      local e = h.error_of(function() addr.city = "Lyon" end)
      assert.matches("Embedded values are read-only", tostring(e), 1, true)
      assert.is_false(pcall(rawset, addr, "city", "Lyon"))
      assert.equal("Paris", a.address.city)
      assert.is_true(a.address == addr)   -- same contents
      assert.same({ city = "Paris", zip = "75001", country = "FR" }, orm.json.decode(tostring(addr)))
      -- stored: one JSON object holding the sub-fields that are set
      assert.same({ city = "Paris", zip = "75001", country = "FR" }, raw("address", "A"))
    end)

    it("writing replaces the whole sub-record; orm.null and false clear it", function()
      local a = P:create{ name = "A", address = { city = "Paris", zip = "75001", country = "DE" } }
      a:write{ address = { city = "Lyon" } }
      assert.equal("Lyon", a.address.city)
      assert.is_nil(a.address.zip)        -- replaced, not merged
      assert.equal("FR", a.address.country)
      assert.same({ city = "Lyon", country = "FR" }, raw("address", "A"))
      a:write{ address = orm.null }
      assert.is_nil(a.address)
      assert.is_nil(raw("address", "A"))
      a:write{ address = { city = "Nice" } }
      a:write{ address = false }
      assert.is_nil(a.address)
      -- a value object read from one record writes into another
      local b = P:create{ name = "B", address = { city = "Metz", kind = "work" } }
      a:write{ address = b.address }
      assert.same({ city = "Metz", country = "FR", kind = "work" }, raw("address", "A"))
    end)

    it("reads a List as a list of value objects, each checked and defaulted", function()
      local a = P:create{ name = "A", items = {
        { sku = "x", qty = 3, price = 2, ok = true, day = "2024-01-02", at = "2024-01-02T03:04:05Z" },
        { sku = "y" },
      } }
      local items = a.items
      assert.equal("userdata", type(items))
      assert.equal(2, #items)
      assert.equal("x", items[1].sku)
      assert.equal(1, items[2].qty)                      -- default
      assert.equal("float", math.type(items[1].price))   -- a Float reads as a float
      assert.equal("2024-01-02 03:04:05", items[1].at)   -- canonical datetime
      local n = 0
      for i, it in ipairs(items) do n = n + 1; assert.equal(i == 1 and "x" or "y", it.sku) end
      assert.equal(2, n)
      assert.is_false(pcall(function() items[1] = {} end))
      assert.same({ { sku = "x", qty = 3, price = 2.0, ok = true, day = "2024-01-02", at = "2024-01-02 03:04:05" },
                    { sku = "y", qty = 1 } }, raw("items", "A"))
      -- a list mixing value objects and tables
      a:write{ items = { a.items[2], { sku = "z", qty = 2 } } }
      assert.same({ { sku = "y", qty = 1 }, { sku = "z", qty = 2 } }, raw("items", "A"))
      a:write{ items = {} }
      assert.equal(0, #a.items)
    end)

    it("gives plain tables to search_read and to the C host's JSON calls", function()
      P:create{ name = "A", address = { city = "Paris" }, items = { { sku = "x" } } }
      local rows = P:search_read({}, { fields = { "address", "items" } })
      assert.equal("table", type(rows[1].address))
      assert.same({ city = "Paris", country = "FR" }, rows[1].address)
      assert.same({ { sku = "x", qty = 1 } }, rows[1].items)
      local host = require "earnorm.host"
      local ids = host.create(env, "comp.partner",
        orm.json.decode('{"name":"J","address":{"city":"Oslo","zip":"0150"},"items":[{"sku":"q","qty":4}]}'))
      assert.is_not_nil(ids)
      local out = host.search_read(env, "comp.partner", orm.json.decode('[["address.city","=","Oslo"]]'),
                                   orm.json.decode('{"fields":["address","items"]}'))
      local back = orm.json.decode(orm.json.encode(out))
      assert.same({ city = "Oslo", zip = "0150", country = "FR" }, back[1].address)
      assert.same({ { sku = "q", qty = 4 } }, back[1].items)
    end)
  end)

  describe("checks", function()
    it("runs the sub-fields' checks in C and names the path", function()
      local function err(vals)
        local e = h.error_of(P.create, P, vals)
        return e.code, e.message, e.field
      end
      local code, msg, field = err{ name = "X", address = { zip = "1" } }
      assert.equal("EVALIDATE", code)
      assert.equal("comp.partner.address.city: required field missing", msg)
      assert.equal("address.city", field)
      code, msg = err{ name = "X", address = { city = "a", zip = "12345678901" } }
      assert.equal("EVALIDATE", code)
      assert.matches("comp.partner.address.zip: value is 11 characters long, more than size 10", msg, 1, true)
      code, msg = err{ name = "X", address = { city = "a", kind = "castle" } }
      assert.equal("EVALIDATE", code)
      assert.matches("comp.partner.address.kind:", msg, 1, true)
      code, msg = err{ name = "X", address = { city = "a", cty = "b" } }
      assert.equal("EINVAL", code)
      assert.equal("comp.partner.address: embedded type comp_address has no field 'cty' (did you mean 'city'?)", msg)
      code, msg = err{ name = "X", items = { { sku = "a", qty = "many" } } }
      assert.equal("EINVAL", code)
      assert.matches("comp.partner.items[1].qty: expected an integer", msg, 1, true)
      code, msg = err{ name = "X", items = { { sku = "a" }, { sku = "b", qty = 0 } } }
      assert.equal("EVALIDATE", code)
      assert.equal("comp.partner.items[2].qty: 0 is less than the minimum 1", msg)
      code, msg = err{ name = "X", items = { { sku = "a" }, "b" } }
      assert.equal("EINVAL", code)
      assert.matches("comp.partner.items[2]: expected a table for embedded type comp_line, got a string", msg, 1, true)
      code, msg = err{ name = "X", address = "Paris" }
      assert.equal("EINVAL", code)
      assert.matches("comp.partner.address: expected a table for an Embedded field, got a string", msg, 1, true)
      code, msg = err{ name = "X", items = { { sku = "a", price = 0 / 0 } } }
      assert.equal("EINVAL", code)
      assert.matches("NaN", msg, 1, true)
      code, msg = err{ name = "X", billing = orm.null }
      assert.equal("EVALIDATE", code)
      assert.matches("comp.partner.billing: required field missing", msg, 1, true)
      -- a batch is all or nothing
      code, msg = err{ { name = "Y1", address = { city = "a" } }, { name = "Y2", address = {} } }
      assert.equal("comp.partner.address.city: required field missing (record 2 of 2)", msg)
      assert.equal(0, P:search_count{})
    end)

    it("fills a required Embedded from its default function", function()
      local a = P:create{ name = "A" }
      assert.equal("Nowhere", a.billing.city)
      assert.same({ city = "Nowhere", country = "FR" }, raw("billing", "A"))
    end)
  end)

  describe("domains on sub-fields", function()
    local function names(domain)
      local t = P:search(domain, { order = "name" }):mapped("name")
      return table.concat(t, ",")
    end

    before_each(function()
      P:create{ name = "A", address = { city = "Paris", zip = "75001" },
                items = { { sku = "x", qty = 3, ok = true, day = "2024-01-02" }, { sku = "y" } } }
      P:create{ name = "B", address = { city = "Lyon", country = "IT" }, items = { { sku = "y", qty = 10, ok = false } } }
      P:create{ name = "C" }
    end)

    it("compares an Embedded sub-field with every operator, in one query", function()
      env:reset_stats()
      assert.equal(1, P:search_count{ { "address.city", "=", "Paris" } })
      assert.equal(1, env:stats().queries)   -- compiled into the query
      assert.equal("A", names{ { "address.city", "=", "Paris" } })
      assert.equal("B,C", names{ { "address.city", "!=", "Paris" } })   -- != matches unset
      assert.equal("A,B", names{ { "address.city", "in", { "Paris", "Lyon" } } })
      assert.equal("C", names{ { "address.city", "not in", { "Paris", "Lyon" } } })
      assert.equal("A", names{ { "address.city", "ilike", "PAR" } })
      assert.equal("A", names{ { "address.city", "like", "ari" } })
      assert.equal("B", names{ { "address.city", "<", "M" } })
      assert.equal("A,B", names{ "|", { "address.zip", ">", "" }, { "address.country", "=", "IT" } })
      assert.equal("A", names{ { "address.country", "=", "FR" } })
      assert.equal("B,C", names{ "!", { "address.city", "=", "Paris" } })
      assert.equal("B", names{ { "address.city", "=?", "Lyon" } })
      assert.equal("C", names{ { "address", "=", orm.null } })
      assert.equal("A,B", names{ { "address", "!=", orm.null } })
    end)

    it("matches a List when some element matches, and a negation when none does", function()
      assert.equal("B", names{ { "items.qty", ">", 5 } })
      assert.equal("A,B", names{ { "items.qty", ">=", 1 } })
      assert.equal("A,B", names{ { "items.sku", "=", "y" } })
      assert.equal("A", names{ { "items.sku", "in", { "x", "z" } } })
      assert.equal("C", names{ { "items.sku", "!=", "y" } })     -- no element has sku y
      assert.equal("B,C", names{ { "items.sku", "not in", { "x" } } })
      assert.equal("A,C", names{ "!", { "items.qty", ">", 5 } })
      assert.equal("A", names{ { "items.sku", "ilike", "X" } })
      assert.equal("A", names{ { "items.ok", "=", true } })
      assert.equal("B", names{ { "items.ok", "=", false } })    -- a stored false
      assert.equal("A", names{ { "items.day", "<", "2025-01-01" } })
      assert.equal("A,B", names{ { "items", "any", { "|", { "sku", "=", "x" }, { "qty", "=", 10 } } } })
      env:reset_stats()
      assert.equal(1, P:search_count{ { "items.qty", ">", 5 }, { "address.city", "=", "Lyon" } })
      assert.equal(1, env:stats().queries)
    end)

    it("matches several conditions on one element, the same element", function()
      -- A has x/qty 3 and y/qty 1: no one element is y with qty > 2
      local d = { { "items", "any", { { "sku", "=", "y" }, { "qty", ">", 2 } } } }
      env:reset_stats()
      assert.equal(1, P:search_count(d))
      -- MongoDB: one aggregate over the unwound elements, then the count
      assert.equal(h.backend == "mongodb" and 2 or 1, env:stats().queries)
      assert.equal("B", names(d))
      assert.equal("A,C", names{ { "items", "not any", { { "sku", "=", "y" }, { "qty", ">", 2 } } } })
      assert.equal("A", names{ { "items", "any", { { "sku", "=", "x" }, { "qty", "=", 3 } } } })
      assert.equal("", names{ { "items", "any", { { "sku", "=", "x" }, { "qty", "=", 10 } } } })
      -- a negation and a null test inside the element
      assert.equal("A", names{ { "items", "any", { "!", { "sku", "=", "y" } } } })
      assert.equal("A", names{ { "items", "any", { { "sku", "=", "x" }, { "price", "=", orm.null } } } })
      assert.equal("A,B", names{ { "items", "any", { { "sku", "=", "y" }, { "price", "=", orm.null } } } })
      assert.equal("A,B", names{ { "items", "any", { { "sku", "!=", "x" }, { "qty", ">=", 1 } } } })
      -- combined with other conditions
      assert.equal("B", names{ { "name", "!=", "A" }, { "items", "any", { { "sku", "=", "y" }, { "qty", ">", 0 } } } })
    end)

    it("orders by an Embedded sub-field in the query, numbers numerically", function()
      P:create{ name = "D", address = { city = "Paris", floor = 10 } }
      P:create{ name = "E", address = { city = "Lyon", floor = 9 } }
      local function ordered(order)
        return table.concat(P:search({}, { order = order }):mapped("name"), ",")
      end
      env:reset_stats()
      local recs = P:search({}, { order = "address.city desc, id" })
      assert.equal(1, env:stats().queries)                           -- ordered in the query
      assert.equal(5, #recs)
      assert.equal("A,D,B,E,C", ordered("address.city desc, id"))   -- unset last when descending
      assert.equal("C,B,E,A,D", ordered("address.city, id"))         -- unset first when ascending
      assert.equal("A,B,C,E,D", ordered("address.floor, name"))      -- 9 before 10: not text order
      assert.equal("D,E,A,B,C", ordered("address.floor desc, name"))
      -- in memory too
      local set = P:search{ { "address", "!=", orm.null } }
      assert.equal("A,D,B,E", table.concat(set:sorted("address.city desc, name"):mapped("name"), ","))
      assert.equal("D,E", table.concat(P:search({ { "address.floor", ">", 0 } },
        { order = "address.floor desc", limit = 2 }):mapped("name"), ","))
    end)

    it("refuses ordering by a List sub-field, an unknown sub-field and whole values", function()
      local e = h.error_of(P.search, P, {}, { order = "items.qty" })
      assert.equal("EINVAL", e.code)
      assert.matches("comp.partner: cannot order by 'items.qty': items is a List (a record holds many elements, so no one sub-field value orders it)", e.message, 1, true)
      e = h.error_of(P.search, P, {}, { order = "address.cty desc" })
      assert.equal("EINVAL", e.code)
      assert.matches("cannot order by 'address.cty': embedded type comp_address has no sub-field 'cty'", e.message, 1, true)
      e = h.error_of(P.search, P, {}, { order = "address.city sideways" })
      assert.matches("bad order direction 'sideways' for address", e.message, 1, true)
      e = h.error_of(P.search, P, {}, { order = "items" })
      assert.equal("EINVAL", e.code)
      assert.matches("cannot order by List field 'items'", e.message, 1, true)
      e = h.error_of(P.read_group, P, {}, { "address" }, { "address" })
      assert.matches("cannot group by Embedded field 'address'", e.message, 1, true)
    end)

    it("refuses unknown sub-fields and comparisons of the whole value, naming them", function()
      local e = h.error_of(names, { { "address.cty", "=", "x" } })
      assert.equal("EINVAL", e.code)
      assert.matches("embedded type comp_address has no field 'cty' (did you mean 'city'?)", e.message, 1, true)
      e = h.error_of(names, { { "address.city.x", "=", "x" } })
      assert.matches("sub-records do not nest", e.message, 1, true)
      e = h.error_of(names, { { "address", "=", "Paris" } })
      assert.matches("compares only with = / != null", e.message, 1, true)
      e = h.error_of(names, { { "items.qty", ">", "many" } })
      assert.equal("EINVAL", e.code)
      assert.matches("expected an integer", e.message, 1, true)
    end)
  end)
end)
