-- Computed fields (issue 10): inverse methods, related fields, search
-- methods, and the refusals at declaration and at registry completion
-- (an unknown name in depends, a step through a non-relational field, a
-- cycle).
--
-- Part of the behaviour suite: runs unchanged on every backend
-- ($EARNORM_TEST_DB).
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

orm.model("cmp.country", { name = f.Char{}, code = f.Char{} })

orm.model("cmp.partner", {
  name = f.Char{},
  country_id = f.Many2one{ "cmp.country" },
  -- related, not stored, writable through the country
  country_name = f.Char{ related = "country_id.name" },
  -- related, stored: searchable in the database, recomputed when the code changes
  country_code = f.Char{ related = "country_id.code", store = true, readonly = true },
})

local Person = orm.model("cmp.person", {
  first = f.Char{},
  last = f.Char{},
  -- computed, writable through an inverse method, searchable through a search method
  full = f.Char{ compute = "_compute_full", depends = { "first", "last" }, inverse = "_inverse_full",
                 search = "_search_full" },
  -- stored and writable
  initials = f.Char{ compute = function(self)
    for rec in self:each() do
      rec.initials = (rec.first or "?"):sub(1, 1) .. (rec.last or "?"):sub(1, 1)
    end
  end, depends = { "first", "last" }, store = true, inverse = function(self)
    for rec in self:each() do
      local a, b = rec.initials:sub(1, 1), rec.initials:sub(2, 2)
      rec:write{ first = a .. (rec.first or ""):sub(2), last = b .. (rec.last or ""):sub(2) }
    end
  end },
})

function Person:_compute_full()
  for rec in self:each() do rec.full = (rec.first or "") .. " " .. (rec.last or "") end
end

function Person:_inverse_full()
  for rec in self:each() do
    local a, b = rec.full:match("^(%S+)%s+(.+)$")
    rec:write{ first = a or rec.full, last = b or orm.null }
  end
end

function Person:_search_full(op, value)
  if op == "=" then
    local a, b = value:match("^(%S+)%s+(.+)$")
    return { { "first", "=", a }, { "last", "=", b } }
  end
  if op == "ilike" then return { "|", { "first", "ilike", value }, { "last", "ilike", value } } end
  error(orm.ValidationError("full: operator " .. op .. " is not supported"))
end

-- a required stored computed field: a compute leaving it empty is refused
orm.model("cmp.coded", {
  name = f.Char{},
  code = f.Char{ required = true, store = true, depends = { "name" }, compute = function(self)
    for rec in self:each() do rec.code = rec.name ~= "skip" and rec.name:upper() or nil end
  end },
})

local function num(v) return tonumber(tostring(v)) end

describe("computed fields: inverse, related, search #" .. h.backend, function()
  local env
  before_each(function() env = h.fresh_env() end)
  after_each(function() env:close() end)

  it("an inverse method makes a computed field writable", function()
    local p = env["cmp.person"]:create{ first = "Ada", last = "Lovelace" }
    assert.are.equal("Ada Lovelace", p.full)
    p:write{ full = "Grace Hopper" }
    assert.are.equal("Grace", p.first)
    assert.are.equal("Hopper", p.last)
    assert.are.equal("Grace Hopper", p.full)
    p.full = "Alan Turing"
    assert.are.equal("Turing", env["cmp.person"]:browse(p.id).last)
    -- on create too, with the other values
    local q = env["cmp.person"]:create{ full = "Edsger Dijkstra" }
    assert.are.equal("Edsger", q.first)
    assert.are.equal("Dijkstra", q.last)
  end)

  it("a stored computed field with an inverse is written and stays consistent", function()
    local p = env["cmp.person"]:create{ first = "Ada", last = "Lovelace" }
    assert.are.equal("AL", p.initials)
    p:write{ initials = "BK" }
    assert.are.equal("Bda", p.first)
    assert.are.equal("Kovelace", p.last)
    assert.are.equal("BK", p.initials)
    assert.are.equal(1, env["cmp.person"]:search_count{ { "initials", "=", "BK" } })
  end)

  it("related fields read, write and follow the path", function()
    local fr = env["cmp.country"]:create{ name = "France", code = "FR" }
    local be = env["cmp.country"]:create{ name = "Belgium", code = "BE" }
    local p = env["cmp.partner"]:create{ name = "P", country_id = fr.id }
    assert.are.equal("France", p.country_name)
    assert.are.equal("FR", p.country_code)
    -- writing a related field writes the record at the end of the path
    p:write{ country_name = "République française" }
    assert.are.equal("République française", env["cmp.country"]:browse(fr.id).name)
    -- the path's relation changes
    p:write{ country_id = be.id }
    assert.are.equal("Belgium", p.country_name)
    assert.are.equal("BE", p.country_code)
    -- the end record changes
    be:write{ code = "BEL" }
    assert.are.equal("BEL", p.country_code)
    assert.are.equal(1, env["cmp.partner"]:search_count{ { "country_code", "=", "BEL" } })
    -- an empty path reads as nil
    local q = env["cmp.partner"]:create{ name = "Q" }
    assert.is_nil(q.country_name)
    -- and cannot be written through: refused, nothing kept in this process
    local ew = h.error_of(function() q:write{ country_name = "Nowhere" } end)
    assert.are.equal("EINVAL", ew.code)
    assert.truthy(ew.message:find('cmp.partner.country_name: cannot write related "country_id.name" for cmp.partner(',
                                  1, true), ew.message)
    assert.truthy(ew.message:find("has no country_id", 1, true), ew.message)
    assert.is_nil(q.country_name)
    assert.are.equal(0, env["cmp.country"]:search_count{ { "name", "=", "Nowhere" } })
    -- readonly: no inverse
    local e = h.error_of(function() p:write{ country_code = "XX" } end)
    assert.are.equal("EINVAL", e.code)
    assert.truthy(tostring(e):find("cmp.partner.country_code cannot be set", 1, true), tostring(e))
  end)

  it("a required stored computed field left empty by its compute is refused, nothing written", function()
    local C = env["cmp.coded"]
    local e = h.error_of(function() C:create{ name = "skip" } end)
    assert.are.equal("EVALIDATE", e.code)
    assert.truthy(e.message:find("^cmp.coded.code: required field missing: the compute left it empty for cmp.coded%("),
                  e.message)
    assert.are.equal(0, C:search_count{})
    local ok = C:create{ name = "ab" }
    assert.are.equal("AB", ok.code)
    e = h.error_of(function() ok:write{ name = "skip" } end)
    assert.are.equal("EVALIDATE", e.code)
    env:invalidate()
    assert.are.equal("ab", C:browse(ok.id).name)
    assert.are.equal("AB", C:browse(ok.id).code)
    assert.are.equal(0, C:search_count{ { "code", "=", orm.null } })
  end)

  it("a search method turns a leaf on a non-stored field into one on stored fields", function()
    env["cmp.person"]:create{ { first = "Ada", last = "Lovelace" }, { first = "Alan", last = "Turing" },
                              { first = "Grace", last = "Hopper" } }
    local r = env["cmp.person"]:search{ { "full", "=", "Alan Turing" } }
    assert.are.equal(1, #r)
    assert.are.equal("Turing", r.last)
    assert.are.equal(2, env["cmp.person"]:search_count{ { "full", "ilike", "a" }, { "last", "!=", "Hopper" } })
    assert.are.equal(3, env["cmp.person"]:search_count{ "|", { "full", "=", "Ada Lovelace" },
                                                        { "first", "!=", "Ada" } })
    assert.are.equal("Alan", env["cmp.person"]:search_read({ "!", { "full", "ilike", "o" } }, { fields = { "first" } })[1].first)
    -- the other searching methods take it too
    assert.are.equal("Hopper", env["cmp.person"]:search_fetch({ { "full", "=", "Grace Hopper" } }, { "first" }).last)
    local all = env["cmp.person"]:search{}
    assert.are.equal(1, #all:filtered_domain{ { "full", "=", "Ada Lovelace" } })
    local groups = env["cmp.person"]:read_group({ { "full", "ilike", "a" } }, { "last" }, { "last" })
    assert.are.equal(3, #groups)
    local e = h.error_of(function() env["cmp.person"]:search{ { "full", ">", "x" } } end)
    assert.are.equal("EVALIDATE", e.code)
    assert.truthy(tostring(e):find("operator > is not supported", 1, true), tostring(e))
  end)
end)

describe("computed fields: refused declarations #" .. h.backend, function()
  -- each case declares models in a fresh VM: the interpreter with -e
  local function declare(code)
    return h.run("--db sqlite::memory: -e " .. string.format("%q", "local orm = require 'earnorm'; local f = orm.fields; "
      .. code .. "; env['x.a']:search{}"))
  end

  it("an unknown name in depends names the field and suggests the closest", function()
    local out, code = declare([[orm.model('x.a', { name = f.Char{},
      up = f.Char{ compute = function(s) end, depends = { 'nmae' }, store = true } })]])
    assert.are_not.equal(0, code)
    assert.truthy(out:find("x.a.up: depends on \"nmae\": x.a has no field 'nmae' (did you mean 'name'?)", 1, true), out)
  end)

  it("a path through a non-relational field is refused", function()
    local out = declare([[orm.model('x.a', { name = f.Char{},
      up = f.Char{ compute = function(s) end, depends = { 'name.size' } } })]])
    assert.truthy(out:find("'name' is a Char field, not a relation", 1, true), out)
  end)

  it("a cycle is refused, naming the fields", function()
    local out = declare([[orm.model('x.a', {
      b = f.Integer{ compute = function(s) end, depends = { 'c' }, store = true },
      c = f.Integer{ compute = function(s) end, depends = { 'b' }, store = true } })]])
    assert.truthy(out:find("computed fields depend on each other in a cycle: x.a.b -> x.a.c -> x.a.b", 1, true)
                  or out:find("computed fields depend on each other in a cycle: x.a.c -> x.a.b -> x.a.c", 1, true), out)
  end)

  it("a field depending on itself through a relation needs recursive = true", function()
    local out = declare([[orm.model('x.a', { parent_id = f.Many2one{ 'x.a' },
      child_ids = f.One2many{ 'x.a', 'parent_id' },
      t = f.Integer{ compute = function(s) end, depends = { 'child_ids.t' }, store = true } })]])
    assert.truthy(out:find("x.a.t depends on itself (declare it recursive = true", 1, true), out)
  end)

  it("depends, recursive and search on fields that are not computed are refused", function()
    local out = declare("orm.model('x.a', { n = f.Char{ depends = { 'n' } } })")
    assert.truthy(out:find("x.a.n: depends applies to computed fields", 1, true), out)
    out = declare("orm.model('x.a', { n = f.Char{ recursive = true } })")
    assert.truthy(out:find("x.a.n: recursive applies to computed fields", 1, true), out)
    out = declare("orm.model('x.a', { n = f.Char{ compute = function() end, store = true, search = 's' } })")
    assert.truthy(out:find("x.a.n: search applies to computed fields that are not stored", 1, true), out)
    out = declare("orm.model('x.a', { n = f.Char{ related = 'n' } })")
    assert.truthy(out:find("x.a.n: related \"n\" must go through a relation", 1, true), out)
  end)
end)
