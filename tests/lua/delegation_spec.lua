-- Delegation inheritance (issue 10): _inherits = { ["dlg.partner"] = "partner_id" }.
-- A child record reads, writes, searches and orders on its parent's fields;
-- create makes the parents of a batch in one create call; unlink follows
-- ondelete. Runs once per backend (EARNORM_TEST_DB).
local orm = require "earnorm"
local h = require "helper"
local f = orm.fields

orm.model("dlg.country", { name = f.Char{} })
orm.model("dlg.partner", {
  _order = "name",
  name       = f.Char{ required = true },
  email      = f.Char{},
  age        = f.Integer{ min = 0 },
  note       = f.Char{ copy = false },
  country_id = f.Many2one{ "dlg.country" },
})
orm.model("dlg.users", {
  _inherits = { ["dlg.partner"] = "partner_id" },
  _order = "name desc",
  login = f.Char{ required = true },
})
orm.model("dlg.company", { title = f.Char{}, email = f.Char{}, code = f.Char{}, vat = f.Char{} })
-- two parents (email is in both: the first by name, dlg.company, wins), a
-- Many2one declared by the model, and a field of its own taking a parent's name
orm.model("dlg.employee", {
  _inherits = { ["dlg.partner"] = "partner_id", ["dlg.company"] = "company_id" },
  company_id = f.Many2one{ "dlg.company", ondelete = "restrict" },
  badge = f.Char{},
  age = f.Integer{},                         -- its own, not the partner's
})
-- _inherit (a mixin) and _inherits together
local Mixin = orm.model("dlg.mixin", { _abstract = true, stamp = f.Char{ default = "S" } })
function Mixin:hello() return "hello " .. (self.name or "?") end
orm.model("dlg.member", {
  _inherit = "dlg.mixin",
  _inherits = { ["dlg.partner"] = "partner_id" },
  level = f.Integer{ default = 1 },
})
-- a model built from a delegating model delegates the same way
orm.model("dlg.admin", { _inherit = "dlg.users", level = f.Integer{} })
-- a chain: a member of staff delegates to a user, which delegates to a partner
orm.model("dlg.staff", { _inherits = { ["dlg.users"] = "user_id" }, office = f.Char{} })
-- a model pointing at a delegating model: paths through the Many2one reach
-- the delegated fields
orm.model("dlg.ticket", {
  _order = "id",
  title   = f.Char{},
  user_id = f.Many2one{ "dlg.users" },
  user_name = f.Char{ related = "user_id.name" },
  label = f.Char{ store = true, depends = { "user_id.name" }, compute = function(recs)
    for rec in recs:each() do rec.label = "for " .. tostring(rec.user_id.name) end
  end },
})

-- Servers keep rows between tests: an employee holds its company
-- (ondelete = restrict), so employees go first.
local function fresh()
  if h.backend ~= "sqlite" then
    local env = orm.connect{ database = h.url }
    env:migrate()
    env["dlg.employee"]:search{}:unlink()
    env:close()
  end
  return h.fresh_env()
end

local function counts(env)
  return env["dlg.partner"]:search_count{}, env["dlg.users"]:search_count{}
end

local function queries(env, fn)
  env:reset_stats()
  fn()
  return env:stats().queries
end

describe("declaration", function()
  it("adds the Many2one (required, cascade, indexed) and the parent's fields", function()
    local U = orm.models["dlg.users"]
    local m2o = U._fields.partner_id
    assert.are.equal("Many2one", m2o.type)
    assert.are.equal("dlg.partner", m2o.comodel)
    assert.is_true(m2o.required)
    assert.are.equal("cascade", m2o.ondelete)
    assert.is_true(m2o.index)
    for _, n in ipairs({ "name", "email", "age", "country_id", "note" }) do
      assert.is_not_nil(U._fields[n], n)
    end
    assert.are.equal("Many2one", U._fields.country_id.type)
    assert.are.equal("partner_id", U._inherits["dlg.partner"])
    assert.has_error(function() U._inherits["x"] = "y" end)
  end)

  it("keeps the child's own fields and the declared Many2one", function()
    local E = orm.models["dlg.employee"]
    assert.are.equal("restrict", E._fields.company_id.ondelete)
    assert.is_true(E._fields.company_id.required)
    assert.is_nil(E._fields.age.compute)           -- its own age
    assert.is_not_nil(E._fields.vat.compute)       -- the company's
    assert.is_not_nil(E._fields.email.compute)     -- the partner's
  end)

  it("shows delegated fields in fields_get", function()
    local env = fresh()
    local meta = env["dlg.users"]:fields_get({ "name", "country_id", "login" },
                                             { "type", "relation", "string" })
    assert.are.equal("char", meta.name.type)
    assert.are.equal("many2one", meta.country_id.type)
    assert.are.equal("dlg.country", meta.country_id.relation)
    assert.are.equal("char", meta.login.type)
    local full = env["dlg.users"]:fields_get({ "name", "login" })
    assert.is_false(full.name.readonly)
    assert.is_true(full.name.searchable)
    assert.is_true(full.name.sortable)
    assert.is_false(full.name.store)
    assert.is_true(full.name.required)
    assert.are.same({ model = "dlg.partner", field = "partner_id" }, full.name.delegated)
    assert.is_nil(full.login.delegated)
    assert.is_true(full.login.store)
    -- two parents: each field names its own
    local e = env["dlg.employee"]:fields_get({ "vat", "age" }, { "delegated" })
    assert.are.same({ model = "dlg.company", field = "company_id" }, e.vat.delegated)
    assert.is_nil(e.age.delegated)                -- its own age wins
  end)
end)

describe("create", function()
  it("creates the parents of a batch in one create call, then the children", function()
    local env = fresh()
    local U, P = env["dlg.users"], env["dlg.partner"]
    local function batch(n, tag)
      local list = {}
      for i = 1, n do list[i] = { name = tag .. i, login = tag .. "l" .. i, age = i } end
      local recs
      local q = queries(env, function() recs = U:create(list) end)
      return recs, q, env:stats().by_kind
    end
    batch(1, "w")                                   -- the first write reads the schemas
    local small, q3, k3 = batch(3, "a")
    -- (PostgreSQL sends batches of 16 rows or more with COPY: compare those among themselves)
    local _, q20 = batch(20, "c")
    local big, q30, k30 = batch(30, "b")
    assert.are.equal(q20, q30)                      -- no query per record
    assert.are.equal(2, k3.insert)                  -- one insert batch per table
    assert.are.equal(2, k30.insert)
    assert.is_true(q3 <= 3, "queries: " .. q3)      -- and the check that the partners exist
    local np, nu = counts(env)
    assert.are.equal(54, np)
    assert.are.equal(54, nu)
    assert.are.equal("a2", small[2].name)
    assert.are.equal("al2", small[2].login)
    assert.are.equal("a2", small[2].partner_id.name)
    assert.are.equal(2, P:browse(small[2].partner_id.id).age)
    assert.are.equal(30, big[30].age)
    -- each user its own partner
    local seen = {}
    for rec in big:each() do
      assert.is_nil(seen[rec.partner_id.id])
      seen[rec.partner_id.id] = true
    end
  end)

  it("is atomic: a child that fails leaves no parent behind", function()
    local env = fresh()
    local U = env["dlg.users"]
    local ok, err = pcall(U.create, U, { { name = "ok", login = "ok" }, { name = "bad" } })
    assert.is_false(ok)
    assert.are.equal("EVALIDATE", err.code)
    assert.are.equal("login", err.field)
    local np, nu = counts(env)
    assert.are.equal(0, np)
    assert.are.equal(0, nu)
    -- a parent that fails: the parent's own check (required name)
    ok, err = pcall(U.create, U, { login = "x" })
    assert.is_false(ok)
    assert.are.equal("name", err.field)
    assert.matches("dlg.partner", err.message, 1, true)
    np, nu = counts(env)
    assert.are.equal(0, np + nu)
  end)

  it("uses a given parent and writes the delegated values on it", function()
    local env = fresh()
    local p = env["dlg.partner"]:create{ name = "Zed", email = "z@x" }
    local u = env["dlg.users"]:create{ login = "z", partner_id = p.id, email = "zz@x" }
    assert.are.equal(p, u.partner_id)
    assert.are.equal("zz@x", p.email)
    assert.are.equal("Zed", u.name)
    local np, nu = counts(env)
    assert.are.equal(1, np)
    assert.are.equal(1, nu)
  end)
end)

describe("read and write", function()
  it("reads the parent's fields in read, search_read and mapped", function()
    local env = fresh()
    local fr = env["dlg.country"]:create{ name = "France" }
    local U = env["dlg.users"]
    U:create{ { name = "Ann", login = "ann", country_id = fr.id }, { name = "Bob", login = "bob" } }
    local rows = U:search_read({ { "login", "=", "ann" } }, { fields = { "name", "login", "country_id" } })
    assert.are.equal(1, #rows)
    assert.are.equal("Ann", rows[1].name)
    assert.are.equal("ann", rows[1].login)
    assert.are.equal(fr.id, rows[1].country_id)
    local recs = U:search({}, { order = "login" })
    local read = recs:read{ "name", "email" }
    assert.are.equal("Bob", read[2].name)
    assert.is_nil(read[2].email)
    assert.are.same({ "Ann", "Bob" }, recs:mapped("name"))
    assert.are.equal("France", recs[1].country_id.name)
  end)

  it("writes delegated values to the parents, one write for all records", function()
    local env = fresh()
    local U, P = env["dlg.users"], env["dlg.partner"]
    local function make(n)
      local list = {}
      for i = 1, n do list[i] = { name = "u" .. i, login = "l" .. i } end
      return U:create(list)
    end
    local few, many = make(2), make(20)
    env:invalidate()
    local q2 = queries(env, function() few:write{ email = "few@x", login = "same" } end)
    env:invalidate()
    local q20 = queries(env, function() many:write{ email = "many@x", login = "same" } end)
    assert.are.equal(q2, q20)
    assert.are.equal(2, P:search_count{ { "email", "=", "few@x" } })
    assert.are.equal(20, P:search_count{ { "email", "=", "many@x" } })
    assert.are.equal(22, U:search_count{ { "login", "=", "same" } })
    assert.are.equal("many@x", many[5].email)
    few[1].name = "renamed"                       -- an assignment is a write
    assert.are.equal("renamed", P:browse(few[1].partner_id.id).name)
    assert.are.equal("renamed", few[1].name)
    local ok, err = pcall(function() few[2].age = -1 end) -- the parent's checks hold
    assert.is_false(ok)
    assert.are.equal("age", err.field)
  end)
end)

describe("search and order", function()
  local env, U
  before_each(function()
    env = fresh()
    U = env["dlg.users"]
    local fr = env["dlg.country"]:create{ name = "France" }
    local de = env["dlg.country"]:create{ name = "Germany" }
    U:create{
      { name = "Cy", login = "c", age = 40, country_id = de.id },
      { name = "Ann", login = "a", age = 30, country_id = fr.id, email = "a@x" },
      { name = "Bob", login = "b", age = 20, email = "b@x" },
    }
  end)

  it("searches delegated fields through the Many2one", function()
    assert.are.equal(2, U:search_count{ { "age", ">=", 30 } })
    assert.are.same({ "a" }, U:search{ { "name", "=", "Ann" } }:mapped("login"))
    assert.are.equal(2, U:search_count{ "|", { "name", "ilike", "b" }, { "login", "=", "c" } })
    assert.are.equal(1, U:search_count{ { "country_id.name", "=", "France" } })
    assert.are.equal(1, U:search_count{ { "email", "=", orm.null } })
    assert.are.equal(2, #U:search_read({ { "email", "!=", orm.null } }, { fields = { "login" } }))
  end)

  it("orders by delegated fields (the model's _order too)", function()
    assert.are.same({ "c", "b", "a" }, U:search{}:mapped("login"))         -- _order = "name desc"
    assert.are.same({ "a", "b", "c" }, U:search({}, { order = "name" }):mapped("login"))
    assert.are.same({ "b", "a", "c" }, U:search({}, { order = "age" }):mapped("login"))
    assert.are.same({ "a", "b" }, U:search({}, { order = "name", limit = 2 }):mapped("login"))
    assert.are.same({ "b", "c" }, U:search({}, { order = "name", offset = 1 }):mapped("login"))
    -- NULL sorts first ascending, last descending
    assert.are.same({ "c", "a", "b" }, U:search({}, { order = "email, login" }):mapped("login"))
    assert.are.same({ "b", "a", "c" }, U:search({}, { order = "email desc" }):mapped("login"))
    -- two steps: the country's name (Bob has none)
    assert.are.same({ "b", "a", "c" }, U:search({}, { order = "country_id.name" }):mapped("login"))
    assert.are.same({ "c", "a", "b" },
                    U:search({}, { order = "country_id.name desc" }):mapped("login"))
    local rows = U:search_read({}, { fields = { "login" }, order = "age desc" })
    assert.are.same({ "c", "a", "b" }, { rows[1].login, rows[2].login, rows[3].login })
    -- sorted() on records
    local all = U:search({}, { order = "login" })
    assert.are.same({ "c", "b", "a" }, all:sorted():mapped("login"))
    assert.are.same({ "b", "a", "c" }, all:sorted("age"):mapped("login"))
    assert.are.same({ "c", "a", "b" }, all:sorted("age", true):mapped("login"))
  end)

  it("orders any model by a Many2one path", function()
    local P = env["dlg.partner"]
    assert.are.same({ "Bob", "Ann", "Cy" }, P:search({}, { order = "country_id.name, name" }):mapped("name"))
    assert.are.same({ "Bob", "Ann", "Cy" }, P:search({}):sorted("country_id.name"):mapped("name"))
    local ok, err = pcall(P.search, P, {}, { order = "country_id.nmae" })
    assert.is_false(ok)
    assert.are.equal("EINVAL", err.code)
    assert.matches("dlg.country has no field 'nmae'", err.message, 1, true)
    ok, err = pcall(P.search, P, {}, { order = "name.x" })
    assert.is_false(ok)
    assert.matches("is not a stored Many2one", err.message, 1, true)
  end)
end)

describe("unlink and copy", function()
  it("unlinking a child leaves its parent; unlinking a parent removes its children", function()
    local env = fresh()
    local U, P = env["dlg.users"], env["dlg.partner"]
    local us = U:create{ { name = "a", login = "a" }, { name = "b", login = "b" } }
    local pa = us[1].partner_id.id
    us[1]:unlink()
    local np, nu = counts(env)
    assert.are.equal(2, np)
    assert.are.equal(1, nu)
    assert.are.equal(1, #P:browse(pa):exists())
    us[2].partner_id:unlink()
    np, nu = counts(env)
    assert.are.equal(1, np)
    assert.are.equal(0, nu)
  end)

  it("ondelete = restrict on the declared Many2one refuses to unlink the parent", function()
    local env = fresh()
    local e = env["dlg.employee"]:create{ name = "Co", title = "T", badge = "7" }
    local co = e.company_id
    local ok, err = pcall(co.unlink, co)
    assert.is_false(ok)
    assert.are.equal(1, env["dlg.company"]:search_count{})
    assert.is_not_nil(err)
  end)

  it("copy gives the copy a parent of its own", function()
    local env = fresh()
    local U, P = env["dlg.users"], env["dlg.partner"]
    local u = U:create{ name = "Ann", login = "ann", email = "a@x", note = "private" }
    local c = u:copy{ login = "ann2" }
    assert.are_not.equal(u.partner_id.id, c.partner_id.id)
    assert.are.equal("Ann", c.name)
    assert.are.equal("a@x", c.email)
    assert.is_nil(c.note)                         -- copy = false on the parent's field
    assert.are.equal("ann2", c.login)
    local np, nu = counts(env)
    assert.are.equal(2, np)
    assert.are.equal(2, nu)
    -- a default naming the Many2one shares that parent
    local s = u:copy{ login = "ann3", partner_id = u.partner_id.id }
    assert.are.equal(u.partner_id, s.partner_id)
    np, nu = counts(env)
    assert.are.equal(2, np)
    assert.are.equal(3, nu)
  end)
end)

describe("several parents, _inherit, chains", function()
  it("delegates to each parent", function()
    local env = fresh()
    local E = env["dlg.employee"]
    local es = E:create{ { name = "Ann", title = "Acme", email = "e@x", vat = "V1", code = "C",
                           badge = "1", age = 5 },
                         { name = "Bob", title = "Beta", vat = "V2", badge = "2" } }
    assert.are.equal(2, env["dlg.company"]:search_count{})
    assert.are.equal(2, env["dlg.partner"]:search_count{})
    assert.are.equal("e@x", es[1].company_id.email)     -- email: the company's
    assert.is_nil(es[1].partner_id.email)
    assert.are.equal("Ann", es[1].partner_id.name)
    assert.are.equal("Acme", es[1].title)
    assert.are.equal("V2", es[2].vat)
    assert.are.equal(5, es[1].age)                      -- its own
    assert.are.equal(0, env["dlg.partner"]:search_count{ { "age", "=", 5 } })
    assert.are.equal(1, E:search_count{ { "vat", "=", "V1" } })
    assert.are.same({ "Bob", "Ann" }, E:search({}, { order = "title desc" }):mapped("name"))
    es:write{ code = "Z", name = "same", badge = "9" }
    assert.are.equal(2, env["dlg.company"]:search_count{ { "code", "=", "Z" } })
    assert.are.equal(2, env["dlg.partner"]:search_count{ { "name", "=", "same" } })
    assert.are.equal(2, E:search_count{ { "badge", "=", "9" } })
  end)

  it("combines _inherit and _inherits", function()
    local env = fresh()
    local m = env["dlg.member"]:create{ name = "Mo" }
    assert.are.equal("S", m.stamp)
    assert.are.equal(1, m.level)
    assert.are.equal("hello Mo", m:hello())
    assert.are.equal(1, env["dlg.partner"]:search_count{ { "name", "=", "Mo" } })
  end)

  it("delegates from a model built from a delegating one", function()
    local env = fresh()
    local a = env["dlg.admin"]:create{ { name = "Root", login = "root", level = 9 }, { name = "Op", login = "op" } }
    assert.are.equal(2, env["dlg.partner"]:search_count{})
    assert.are.equal(0, env["dlg.users"]:search_count{})
    assert.are.equal("Root", a[1].partner_id.name)
    assert.are.same({ "Root", "Op" }, env["dlg.admin"]:search{}:mapped("name"))  -- _order name desc
    assert.are.equal(1, env["dlg.admin"]:search_count{ { "name", "=", "Op" } })
  end)

  it("chains through a child that delegates itself", function()
    local env = fresh()
    local S = env["dlg.staff"]
    local s = S:create{ { name = "Sam", login = "sam", office = "B2" }, { name = "Al", login = "al" } }
    local np, nu = counts(env)
    assert.are.equal(2, np)
    assert.are.equal(2, nu)
    assert.are.equal("Sam", s[1].name)
    assert.are.equal("sam", s[1].user_id.login)
    assert.are.equal("Sam", s[1].user_id.partner_id.name)
    assert.are.same({ "Al" }, S:search{ { "name", "=", "Al" } }:mapped("name"))
    assert.are.same({ "Al", "Sam" }, S:search({}, { order = "name" }):mapped("name"))
    s[2]:write{ name = "Alf", login = "alf" }
    assert.are.equal("Alf", env["dlg.partner"]:browse(s[2].user_id.partner_id.id).name)
    assert.are.equal("alf", s[2].login)
  end)

  it("gives the children the fields an extension adds to the parent later", function()
    orm.model("dlg.partner", { _inherit = "dlg.partner", phone = f.Char{} })
    local env = fresh()
    assert.is_not_nil(orm.models["dlg.users"]._fields.phone)
    assert.is_not_nil(orm.models["dlg.staff"]._fields.phone)
    local u = env["dlg.users"]:create{ name = "P", login = "p", phone = "123" }
    assert.are.equal("123", u.partner_id.phone)
    assert.are.equal(1, env["dlg.users"]:search_count{ { "phone", "=", "123" } })
  end)
end)

describe("errors", function()
  local function decl_error(name, spec)
    local ok, err = pcall(orm.model, name, spec)
    assert.is_false(ok)
    assert.is_nil(orm.models[name])
    return err
  end

  it("names an unknown parent model", function()
    local err = decl_error("dlg.bad1", { _inherits = { ["dlg.partnr"] = "partner_id" } })
    assert.are.equal("ENOTFOUND", err.code)
    assert.matches("dlg.bad1: _inherits names unknown model dlg.partnr (did you mean 'dlg.partner'?)",
                   err.message, 1, true)
  end)

  it("refuses a Many2one that points elsewhere, or is not required", function()
    local err = decl_error("dlg.bad2", { _inherits = { ["dlg.partner"] = "partner_id" },
                                         partner_id = f.Many2one{ "dlg.country" } })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("partner_id", err.field)
    assert.matches("must be a Many2one to dlg.partner (it is a Many2one to dlg.country)",
                   err.message, 1, true)
    err = decl_error("dlg.bad3", { _inherits = { ["dlg.partner"] = "partner_id" },
                                   partner_id = f.Char{} })
    assert.matches("(it is a Char)", err.message, 1, true)
    err = decl_error("dlg.bad4", { _inherits = { ["dlg.partner"] = "partner_id" },
                                   partner_id = f.Many2one{ "dlg.partner", ondelete = "set null" } })
    assert.matches("it must be required, with ondelete", err.message, 1, true)
  end)

  it("refuses malformed _inherits", function()
    local err = decl_error("dlg.bad5", { _inherits = { "dlg.partner" } })
    assert.are.equal("EINVAL", err.code)
    assert.matches("_inherits maps a parent model's name to the Many2one field", err.message, 1, true)
    err = decl_error("dlg.bad6", { _inherits = "dlg.partner" })
    assert.matches("_inherits must be a table", err.message, 1, true)
    err = decl_error("dlg.bad7", { _inherits = { ["dlg.partner"] = "a-b" } })
    assert.matches("must be the name of a Many2one field", err.message, 1, true)
    err = decl_error("dlg.bad8", { _inherits = { ["dlg.mixin"] = "m_id" } })
    assert.matches("dlg.mixin, which is abstract", err.message, 1, true)
    err = decl_error("dlg.bad9", { _inherits = { ["dlg.bad9"] = "x_id" } })
    assert.matches("a model cannot delegate to itself", err.message, 1, true)
    err = decl_error("dlg.bad10", { _inherits = {} })
    assert.matches("_inherits is empty", err.message, 1, true)
  end)
end)

describe("paths through a Many2one to a delegating model", function()
  local env, ann, bob, t1, t2
  before_each(function()
    env = fresh()
    ann = env["dlg.users"]:create{ name = "Ann", login = "ann" }
    bob = env["dlg.users"]:create{ name = "Bob", login = "bob" }
    t1 = env["dlg.ticket"]:create{ title = "t1", user_id = ann.id }
    t2 = env["dlg.ticket"]:create{ title = "t2", user_id = bob.id }
  end)
  after_each(function() env:close() end)

  it("reads the delegated field through the path and a related field", function()
    assert.are.equal("Ann", t1.user_id.name)
    assert.are.equal("Ann", t1.user_name)
    assert.are.equal("Bob", t2.user_name)
    assert.are.equal("for Ann", t1.label)
  end)

  it("searches and orders by the delegated field through the path", function()
    local T = env["dlg.ticket"]
    local found = T:search{ { "user_id.name", "=", "Ann" } }
    assert.are.equal(1, #found)
    assert.are.equal(t1.id, found.id)
    assert.are.equal(t2.id, T:search{ { "user_id.name", "like", "Bo%" } }.id)
    assert.are.equal(0, T:search_count{ { "user_id.name", "=", "Zed" } })
    -- a path into the parent's own relation
    local fr = env["dlg.country"]:create{ name = "France" }
    bob:write{ country_id = fr.id }
    assert.are.equal(t2.id, T:search{ { "user_id.country_id.name", "=", "France" } }.id)
    local desc = T:search({}, { order = "user_id.name desc" })
    assert.are.same({ t2.id, t1.id }, desc.ids)
    local asc = T:search({}, { order = "user_id.name" })
    assert.are.same({ t1.id, t2.id }, asc.ids)
    local rows = T:search_read({}, { fields = { "title" }, order = "user_id.name desc" })
    assert.are.equal("t2", rows[1].title)
    assert.are.equal("t1", rows[2].title)
  end)

  it("recomputes a stored field depending on the path when the parent's field changes", function()
    ann:write{ name = "Anna" }
    env:invalidate()
    assert.are.equal("for Anna", env["dlg.ticket"]:browse(t1.id).label)
    ann.partner_id:write{ name = "Annie" } -- on the parent itself
    env:invalidate()
    assert.are.equal("for Annie", env["dlg.ticket"]:browse(t1.id).label)
    assert.are.equal("for Bob", env["dlg.ticket"]:browse(t2.id).label)
    assert.are.equal(1, env["dlg.ticket"]:search_count{ { "label", "=", "for Annie" } })
  end)
end)
