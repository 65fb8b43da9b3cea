-- The behaviour suite: runs unchanged on every backend ($EARNORM_TEST_DB).
--
-- Backend-agnostic by construction: ids are compared as values taken from
-- records (integers on SQL, 24-hex strings on MongoDB), never assumed to be
-- 1, 2, 3, and no test looks at SQL. Query counts are asserted only where
-- the design fixes them (O(1) prefetch, contradictory domains).
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

-- ---------------------------------------------------------------------
-- models
-- ---------------------------------------------------------------------

-- Switches and logs the handlers below read; reset before each test.
local ctl = {}
local function reset_ctl()
  for k in pairs(ctl) do ctl[k] = nil end
  ctl.log = {}
  ctl.calls = 0
end
reset_ctl()

local ref_seq = 0

orm.model("beh.tag", {
  _order = "name",
  name  = f.Char{ required = true },
  color = f.Integer{},
})

local Partner = orm.model("beh.partner", {
  _description = "Behaviour partner",
  _order = "name",
  name      = f.Char{ required = true, size = 32, index = true },
  email     = f.Char{ unique = true },
  code      = f.Char{ size = 5 },
  notes     = f.Text{},
  age       = f.Integer{ min = 0, max = 150 },
  score     = f.Float{},
  active    = f.Boolean{ default = true },
  birthday  = f.Date{},
  seen_at   = f.Datetime{},
  kind      = f.Selection{ choices = { "person", "company" }, default = "person" },
  data      = f.Json{},
  price     = f.Decimal{ digits = { 12, 2 } },
  blob      = f.Binary{},
  ref       = f.Char{ default = function() ref_seq = ref_seq + 1; return "REF-" .. ref_seq end },
  parent_id = f.Many2one{ "beh.partner", ondelete = "set null" },
  tag_id    = f.Many2one{ "beh.tag" },
  display   = f.Char{ compute = "_compute_display", depends = { "name", "email" }, store = true },
  shout     = f.Char{ compute = "_compute_shout", depends = { "name" } },
})

function Partner:_compute_display()
  ctl.display_runs = (ctl.display_runs or 0) + 1
  for rec in self:each() do
    rec.display = rec.name .. " <" .. (rec.email or "") .. ">"
  end
end

function Partner:_compute_shout()
  ctl.shout_runs = (ctl.shout_runs or 0) + 1
  for rec in self:each() do
    rec.shout = rec.name:upper() .. "!"
  end
end

-- Many records, a non-stored compute and nothing else: for the compute
-- window (no stored compute to write back 10000 times).
local Word = orm.model("beh.word", {
  name  = f.Char{ required = true },
  shout = f.Char{ compute = "_compute_shout", depends = { "name" } },
})

function Word:_compute_shout()
  for rec in self:each() do rec.shout = rec.name:upper() .. "!" end
end

function Partner:greeting(punct)
  self:ensure_one()
  return "Hello, " .. self.name .. (punct or "!")
end

function Partner:count_me()
  return #self
end

-- Validators: qty must be even (field named by the error), limit >= qty.
local Checked = orm.model("beh.checked", {
  name  = f.Char{},
  qty   = f.Integer{},
  limit = f.Integer{},
  note  = f.Char{},
})
Checked:constrains({ "qty" }, function(recs)
  ctl.qty_checks = (ctl.qty_checks or 0) + 1
  for rec in recs:each() do
    if rec.qty and rec.qty % 2 ~= 0 then
      error(orm.ValidationError("qty must be even"))
    end
  end
end)
Checked:constrains({ "qty", "limit" }, function(recs)
  for rec in recs:each() do
    if rec.limit and rec.qty and rec.qty > rec.limit then
      error(orm.ValidationError{ "qty is over the limit", field = "limit" })
    end
  end
end)

-- A validator with a bug in it (a Lua runtime error, not a ValidationError).
local Buggy = orm.model("beh.buggy", { name = f.Char{}, n = f.Integer{} })
Buggy:constrains({ "n" }, function(recs)
  if ctl.buggy then
    local t = nil
    return t.field -- attempt to index a nil value
  end
end)

-- Events: every handler logs its arguments; switches make them fail.
local Ev = orm.model("beh.event", {
  name = f.Char{ required = true },
  n    = f.Integer{},
  note = f.Char{},
})
local function log(...) ctl.log[#ctl.log + 1] = { ... } end
Ev:on("before_create", function(model, vals_list)
  log("before_create", model, #vals_list)
  for _, vals in ipairs(vals_list) do
    if vals.note == nil then vals.note = "set by before_create" end
  end
  if ctl.fail_before_create then error("refused by before_create") end
  if ctl.bug then
    local t = nil
    t.x = 1 -- attempt to index a nil value
  end
end)
Ev:on("after_create", function(records, vals_list)
  log("after_create", records, #vals_list)
  if ctl.side_effect then records.env["beh.tag"]:create{ name = "side effect" } end
  if ctl.fail_after_create then error(orm.Error("refused by after_create")) end
end)
Ev:on("before_write", function(records, vals)
  log("before_write", records, vals)
  if ctl.fail_before_write then error("refused by before_write") end
end)
Ev:on("after_write", function(records, vals)
  log("after_write", records, vals)
  if ctl.fail_after_write then error("refused by after_write") end
end)
Ev:on("before_unlink", function(records)
  log("before_unlink", records, #records)
  if ctl.fail_before_unlink then error("refused by before_unlink") end
end)
Ev:on("after_unlink", function(records)
  log("after_unlink", records, #records)
  if ctl.fail_after_unlink then error("refused by after_unlink") end
end)

-- A hierarchy for child_of / parent_of.
orm.model("beh.cat", {
  _order = "name",
  name      = f.Char{ required = true },
  parent_id = f.Many2one{ "beh.cat", ondelete = "cascade" },
})

-- ondelete = restrict, pointing at a partner and at itself.
orm.model("beh.lock", {
  name       = f.Char{},
  partner_id = f.Many2one{ "beh.partner", ondelete = "restrict" },
  parent_id  = f.Many2one{ "beh.lock", ondelete = "restrict" },
})

-- A table for the record-count tests.
orm.model("beh.item", {
  _order = "seq",
  name = f.Char{},
  seq  = f.Integer{},
  owner_id = f.Many2one{ "beh.partner" },
})

-- ---------------------------------------------------------------------
-- helpers
-- ---------------------------------------------------------------------

local function sorted_names(recs)
  local out = recs:mapped("name")
  table.sort(out)
  return out
end

local function names(recs) return recs:mapped("name") end

local function queries(env) return env:stats().queries end

-- The number of queries fn issues.
local function count_queries(env, fn)
  env:reset_stats()
  fn()
  return queries(env)
end

describe("behaviour on " .. h.backend, function()
  local env
  before_each(function()
    reset_ctl()
    env = h.fresh_env()
  end)

  -- -------------------------------------------------------------------
  describe("field types", function()
    it("round-trips Char, Text, Integer, Float and Boolean", function()
      local P = env["beh.partner"]
      local r = P:create{ name = "Ann", notes = "line 1\nline 2 \u{e9}\u{4e2d}", age = 31,
                          score = 2.5, active = false }
      env:invalidate()
      assert.are.equal("Ann", r.name)
      assert.are.equal("line 1\nline 2 \u{e9}\u{4e2d}", r.notes)
      assert.are.equal(31, r.age)
      assert.is_true(math.type(r.age) == "integer")
      assert.are.equal(2.5, r.score)
      assert.is_false(r.active)
      local r2 = P:create{ name = "Bob", score = 3, active = true }
      env:invalidate()
      assert.are.equal(3.0, r2.score)
      assert.are.equal("float", math.type(r2.score))
      assert.is_true(r2.active)
      assert.is_nil(r2.age)
    end)

    it("round-trips Date and normalises Datetime to UTC 'YYYY-MM-DD HH:MM:SS'", function()
      local P = env["beh.partner"]
      local a = P:create{ name = "a", birthday = "1960-02-29", seen_at = "2024-03-05T10:20:30+02:00" }
      local b = P:create{ name = "b", seen_at = "2024-03-05 10:20" }
      local c = P:create{ name = "c", seen_at = "2024-12-31T23:30:00-01:00" }
      local d = P:create{ name = "d", seen_at = "2024-01-02T03:04:05Z" }
      local e = P:create{ name = "e", seen_at = 0 }
      env:invalidate()
      assert.are.equal("1960-02-29", a.birthday)
      assert.are.equal("2024-03-05 08:20:30", a.seen_at)
      assert.are.equal("2024-03-05 10:20:00", b.seen_at)
      assert.are.equal("2025-01-01 00:30:00", c.seen_at)
      assert.are.equal("2024-01-02 03:04:05", d.seen_at)
      assert.are.equal("1970-01-01 00:00:00", e.seen_at)
      -- the normalised form is what searches compare
      assert.are.equal(a, P:search{ { "seen_at", "=", "2024-03-05 08:20:30" } })
      assert.are.equal(c, P:search{ { "seen_at", ">", "2024-12-31 23:59:59" } })
    end)

    it("refuses an invalid Date and Datetime", function()
      local P = env["beh.partner"]
      local err = h.error_of(P.create, P, { name = "x", birthday = "2023-02-29" })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("birthday", err.field)
      assert.are.equal("beh.partner", err.model)
      assert.matches("expected a date 'YYYY%-MM%-DD'", err.message)
      err = h.error_of(P.create, P, { name = "x", seen_at = "yesterday" })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("seen_at", err.field)
      assert.matches("expected a datetime", err.message)
      assert.are.equal(0, P:search_count{})
    end)

    it("round-trips Selection and refuses a value that is not a choice", function()
      local P = env["beh.partner"]
      local r = P:create{ name = "Acme", kind = "company" }
      env:invalidate()
      assert.are.equal("company", r.kind)
      local err = h.error_of(P.create, P, { name = "x", kind = "robot" })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("kind", err.field)
      assert.matches("'robot' is not one of: person, company", err.message, 1, true)
    end)

    it("round-trips Json: nested tables, arrays, scalars", function()
      local P = env["beh.partner"]
      local r = P:create{ name = "j", data = { tier = "gold", seats = 12, ratio = 0.5, ok = true,
                                               tags = { "a", "b", "c" },
                                               nested = { deep = { list = { 1, { x = "y" } } } } } }
      local arr = P:create{ name = "arr", data = { 10, 20, 30 } }
      local num = P:create{ name = "num", data = 42 }
      local str = P:create{ name = "str", data = "just text" }
      env:invalidate()
      local d = r.data
      assert.are.equal("gold", d.tier)
      assert.are.equal(12, d.seats)
      assert.are.equal(0.5, d.ratio)
      assert.is_true(d.ok)
      assert.are.same({ "a", "b", "c" }, d.tags)
      assert.are.equal(1, d.nested.deep.list[1])
      assert.are.equal("y", d.nested.deep.list[2].x)
      assert.are.same({ 10, 20, 30 }, arr.data)
      assert.are.equal(42, num.data)
      assert.are.equal("just text", str.data)
      assert.is_nil(P:create{ name = "none" }.data)
    end)

    it("keeps Decimal exact as a string with the declared scale", function()
      local P = env["beh.partner"]
      local a = P:create{ name = "a", price = "12.3" }
      local b = P:create{ name = "b", price = 19.9 }
      local c = P:create{ name = "c", price = 7 }
      local d = P:create{ name = "d", price = "0.005" }
      local e = P:create{ name = "e", price = "-1234567890.12" }
      env:invalidate()
      assert.are.equal("12.30", a.price)
      assert.are.equal("19.90", b.price)
      assert.are.equal("7.00", c.price)
      assert.are.equal("0.01", d.price)
      assert.are.equal("-1234567890.12", e.price)
      local err = h.error_of(P.create, P, { name = "big", price = "12345678901.00" })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("price", err.field)
      assert.matches("does not fit digits (12, 2)", err.message, 1, true)
      err = h.error_of(P.create, P, { name = "nan", price = "12,30" })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("price", err.field)
    end)

    it("round-trips Binary with NUL and high bytes", function()
      local P = env["beh.partner"]
      local bytes = "a\0b\0\0\255\254\128 end\0"
      local r = P:create{ name = "bin", blob = bytes }
      env:invalidate()
      assert.are.equal(#bytes, #r.blob)
      assert.are.equal(bytes, r.blob)
      assert.are.equal(bytes, P:search_read({ { "id", "=", r.id } }, { fields = { "blob" } })[1].blob)
    end)

    it("gives a Many2one as a recordset, and an empty one as an empty recordset", function()
      local P = env["beh.partner"]
      local T = env["beh.tag"]
      local tag = T:create{ name = "vip" }
      local parent = P:create{ name = "Parent" }
      local child = P:create{ name = "Child", parent_id = parent, tag_id = tag.id }
      local orphan = P:create{ name = "Orphan" }
      env:invalidate()
      assert.is_true(orm.is_recordset(child.parent_id))
      assert.are.equal(1, #child.parent_id)
      assert.are.equal(parent.id, child.parent_id.id)
      assert.are.equal("beh.partner", child.parent_id._name)
      assert.are.equal("Parent", child.parent_id.name)
      assert.are.equal(tag, child.tag_id)
      assert.are.equal("beh.tag", child.tag_id._name)
      assert.is_true(orm.is_recordset(orphan.parent_id))
      assert.are.equal(0, #orphan.parent_id)
      assert.are.equal("beh.partner", orphan.parent_id._name)
      assert.is_nil(orphan.parent_id.name)
      -- emptied by writing orm.null, and by writing an empty recordset
      child:write{ parent_id = orm.null }
      env:invalidate()
      assert.are.equal(0, #child.parent_id)
      child:write{ tag_id = T:browse({}) }
      env:invalidate()
      assert.are.equal(0, #child.tag_id)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("defaults", function()
    it("applies value defaults and function defaults, and lets values override them", function()
      local P = env["beh.partner"]
      local before = ref_seq
      local a = P:create{ name = "a" }
      local b = P:create{ name = "b", active = false, kind = "company", ref = "mine" }
      env:invalidate()
      assert.is_true(a.active)
      assert.are.equal("person", a.kind)
      assert.are.equal("REF-" .. (before + 1), a.ref)
      assert.is_false(b.active)
      assert.are.equal("company", b.kind)
      assert.are.equal("mine", b.ref)
      assert.are.equal(before + 1, ref_seq) -- not called when a value is given
    end)

    it("calls a function default once per record of a batch", function()
      local before = ref_seq
      local recs = env["beh.partner"]:create{ { name = "x" }, { name = "y" }, { name = "z" } }
      env:invalidate()
      assert.are.same({ "REF-" .. (before + 1), "REF-" .. (before + 2), "REF-" .. (before + 3) },
                      recs:mapped("ref"))
    end)
  end)

  -- -------------------------------------------------------------------
  describe("create", function()
    it("creates one record and returns a recordset of one", function()
      local r = env["beh.partner"]:create{ name = "Ann" }
      assert.is_true(orm.is_recordset(r))
      assert.are.equal(1, #r)
      assert.is_not_nil(r.id)
      assert.are.equal(1, env["beh.partner"]:search_count{})
    end)

    it("creates a batch and returns the records in the order given", function()
      local P = env["beh.partner"]
      local recs = P:create{ { name = "Zed" }, { name = "Amy" }, { name = "Mo" } }
      assert.are.equal(3, #recs)
      assert.are.same({ "Zed", "Amy", "Mo" }, names(recs))
      local ids = recs.ids
      assert.are.equal(3, #ids)
      assert.are_not.equal(ids[1], ids[2])
      assert.are_not.equal(ids[2], ids[3])
      env:invalidate()
      assert.are.same({ "Zed", "Amy", "Mo" }, names(P:browse(ids)))
      assert.are.equal(3, P:search_count{})
    end)

    it("create{} creates one record of defaults", function()
      local r = env["beh.item"]:create{}
      assert.are.equal(1, #r)
      assert.are.equal(1, env["beh.item"]:search_count{})
      assert.is_nil(r.name)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("search", function()
    local P, ann, bob, cy, dee, eve
    before_each(function()
      P = env["beh.partner"]
      ann = P:create{ name = "Ann", age = 31, email = "ann@x.io", score = 1.5, kind = "person" }
      bob = P:create{ name = "Bob", age = 17, kind = "person", parent_id = ann }
      cy  = P:create{ name = "Cy", age = 64, email = "cy@corp.com", kind = "company", parent_id = ann }
      dee = P:create{ name = "Dee", email = "dee@x.io", kind = "person", parent_id = cy }
      eve = P:create{ name = "Eve_1%", age = 45, kind = "company" }
    end)

    local function found(domain, opts) return sorted_names(P:search(domain, opts)) end

    it("= and !=", function()
      assert.are.same({ "Ann" }, found{ { "age", "=", 31 } })
      assert.are.same({ "Bob", "Cy", "Dee", "Eve_1%" }, found{ { "age", "!=", 31 } })
      assert.are.same({ "Cy", "Eve_1%" }, found{ { "kind", "=", "company" } })
    end)

    it("> >= < <=", function()
      assert.are.same({ "Cy", "Eve_1%" }, found{ { "age", ">", 31 } })
      assert.are.same({ "Ann", "Cy", "Eve_1%" }, found{ { "age", ">=", 31 } })
      assert.are.same({ "Ann", "Bob" }, found{ { "age", "<", 45 } })
      assert.are.same({ "Ann", "Bob", "Eve_1%" }, found{ { "age", "<=", 45 } })
    end)

    it("in and not in (not in matches NULL)", function()
      assert.are.same({ "Bob", "Cy" }, found{ { "age", "in", { 17, 64 } } })
      assert.are.same({ "Ann", "Dee", "Eve_1%" }, found{ { "age", "not in", { 17, 64 } } })
      assert.are.same({}, found{ { "age", "in", {} } })
      assert.are.same({ "Ann", "Bob", "Cy", "Dee", "Eve_1%" }, found{ { "age", "not in", {} } })
      assert.are.same({ "Ann", "Cy" }, found{ { "id", "in", { ann.id, cy.id } } })
      assert.are.same({ "Ann", "Cy" }, found{ { "id", "in", ann | cy } })
      assert.are.same({ "Bob", "Dee" }, found{ { "age", "in", { 17, orm.null } } })
    end)

    it("like, ilike, not like, not ilike are Odoo's: the value is wrapped in %...%", function()
      assert.are.same({ "Ann" }, found{ { "name", "like", "nn" } })
      assert.are.same({}, found{ { "name", "like", "ANN" } })
      assert.are.same({ "Ann" }, found{ { "name", "ilike", "ANN" } })
      assert.are.same({ "Ann", "Dee" }, found{ { "email", "like", "@x.io" } })
      assert.are.same({ "Bob", "Cy", "Eve_1%" }, found{ { "email", "not like", "@x.io" } })
      assert.are.same({ "Bob", "Cy", "Dee", "Eve_1%" }, found{ { "name", "not ilike", "an" } })
      -- % and _ inside the value stay wildcards
      assert.are.same({ "Ann" }, found{ { "name", "like", "A%n" } })
      assert.are.same({ "Ann" }, found{ { "name", "like", "_nn" } })
      assert.are.same({ "Eve_1%" }, found{ { "name", "like", "v_%1" } })
      assert.are.same({ "Ann", "Bob", "Cy", "Dee", "Eve_1%" }, found{ { "name", "like", "%" } })
      assert.are.same({}, found{ { "name", "not like", "_" } })
      -- a backslash makes the next character literal
      assert.are.same({ "Eve_1%" }, found{ { "name", "like", "1\\%" } })
      assert.are.same({}, found{ { "name", "like", "A\\%n" } })
    end)

    it("orm.like_escape quotes % _ and \\ for a literal substring match", function()
      assert.are.equal("100\\%\\_a\\\\b", orm.like_escape("100%_a\\b"))
      assert.are.equal("", orm.like_escape(""))
      assert.are.same({ "Eve_1%" }, found{ { "name", "like", orm.like_escape("_1%") } })
      assert.are.same({ "Eve_1%" }, found{ { "name", "ilike", orm.like_escape("E_1") } })
      assert.are.same({}, found{ { "name", "like", orm.like_escape("A%n") } })
      assert.are.same({}, found{ { "name", "like", orm.like_escape("_nn") } })
      assert.are.same({ "Ann", "Bob", "Cy", "Dee" }, found{ { "name", "not like", orm.like_escape("%") } })
      local err = h.error_of(orm.like_escape, 42)
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("orm.like_escape: expected a string, got number", err.message)
    end)

    it("=like and =ilike take the value as a pattern", function()
      assert.are.same({ "Ann" }, found{ { "name", "=like", "A%" } })
      assert.are.same({ "Ann" }, found{ { "name", "=like", "A_n" } })
      assert.are.same({}, found{ { "name", "=like", "a%" } })
      assert.are.same({ "Ann" }, found{ { "name", "=ilike", "a%" } })
      assert.are.same({ "Ann" }, found{ { "name", "=ilike", "%N" } })
      assert.are.same({ "Bob" }, found{ { "name", "=ilike", "%b%" } })
      assert.are.same({ "Eve_1%" }, found{ { "name", "=like", "Eve%" } })
    end)

    it("child_of and parent_of follow the parent_id hierarchy", function()
      local C = env["beh.cat"]
      local root = C:create{ name = "root" }
      local a = C:create{ name = "a", parent_id = root }
      local b = C:create{ name = "b", parent_id = root }
      local a1 = C:create{ name = "a1", parent_id = a }
      local a11 = C:create{ name = "a11", parent_id = a1 }
      C:create{ name = "other" }
      assert.are.same({ "a", "a1", "a11", "b", "root" },
                      sorted_names(C:search{ { "id", "child_of", root.id } }))
      assert.are.same({ "a", "a1", "a11" }, sorted_names(C:search{ { "id", "child_of", a.id } }))
      assert.are.same({ "a", "a1", "a11", "b" },
                      sorted_names(C:search{ { "id", "child_of", { a.id, b.id } } }))
      assert.are.same({ "a", "a1", "a11", "root" },
                      sorted_names(C:search{ { "id", "parent_of", a11.id } }))
      assert.are.same({ "b", "root" }, sorted_names(C:search{ { "id", "parent_of", b } }))
      -- through a Many2one: records whose parent is under a
      assert.are.same({ "a1", "a11" }, sorted_names(C:search{ { "parent_id", "child_of", a.id } }))
    end)

    it("any and not any on a Many2one", function()
      assert.are.same({ "Bob", "Cy" }, found{ { "parent_id", "any", { { "name", "=", "Ann" } } } })
      assert.are.same({ "Ann", "Dee", "Eve_1%" },
                      found{ { "parent_id", "not any", { { "name", "=", "Ann" } } } })
      assert.are.same({ "Dee" },
                      found{ { "parent_id", "any", { { "kind", "=", "company" }, { "age", ">", 60 } } } })
    end)

    it("dotted paths traverse Many2one fields", function()
      assert.are.same({ "Bob", "Cy" }, found{ { "parent_id.name", "=", "Ann" } })
      assert.are.same({ "Dee" }, found{ { "parent_id.parent_id.name", "=", "Ann" } })
      assert.are.same({ "Dee" }, found{ { "parent_id.kind", "=", "company" } })
      assert.are.same({ "Bob", "Cy", "Dee" }, found{ { "parent_id.email", "ilike", "@" } })
    end)

    it("orm.null: = null, != null, and != value matches null", function()
      assert.are.same({ "Dee" }, found{ { "age", "=", orm.null } })
      assert.are.same({ "Ann", "Bob", "Cy", "Eve_1%" }, found{ { "age", "!=", orm.null } })
      assert.are.same({ "Bob", "Eve_1%" }, found{ { "email", "=", orm.null } })
      assert.are.same({ "Ann", "Eve_1%" }, found{ { "parent_id", "=", orm.null } })
      -- != matches NULL: Dee has no age
      assert.are.same({ "Ann", "Bob", "Cy", "Dee" }, found{ { "age", "!=", 45 } })
      -- a NULL never satisfies an ordering comparison
      assert.are.same({ "Ann", "Bob", "Cy", "Eve_1%" }, found{ { "age", ">=", 0 } })
    end)

    it("'|', '&' and '!' prefix operators, and implicit AND", function()
      assert.are.same({ "Ann", "Cy" }, found{ "|", { "name", "=", "Ann" }, { "name", "=", "Cy" } })
      assert.are.same({ "Cy" }, found{ "&", { "kind", "=", "company" }, { "age", ">", 50 } })
      assert.are.same({ "Cy" }, found{ { "kind", "=", "company" }, { "age", ">", 50 } })
      assert.are.same({ "Ann", "Bob", "Dee", "Eve_1%" }, found{ "!", { "name", "=", "Cy" } })
      -- ! over a NULL: "not (age > 40)" holds for a record without an age
      assert.are.same({ "Ann", "Bob", "Dee" }, found{ "!", { "age", ">", 40 } })
      -- nested: (company or age < 20) and not Eve
      assert.are.same({ "Bob", "Cy" }, found{
        "&", "|", { "kind", "=", "company" }, { "age", "<", 20 }, "!", { "name", "=like", "Eve%" } })
      -- the design's example: age > 18 and (company or no e-mail)
      assert.are.same({ "Cy", "Eve_1%" }, found{
        { "age", ">", 18 }, "|", { "kind", "=", "company" }, { "email", "=", orm.null } })
    end)

    it("orders asc/desc, by several keys, NULL first ascending", function()
      assert.are.same({ "Ann", "Bob", "Cy", "Dee", "Eve_1%" }, names(P:search({}, { order = "name" })))
      assert.are.same({ "Dee", "Bob", "Ann", "Eve_1%", "Cy" }, names(P:search({}, { order = "age" })))
      assert.are.same({ "Dee", "Bob", "Ann", "Eve_1%", "Cy" }, names(P:search({}, { order = "age asc" })))
      assert.are.same({ "Cy", "Eve_1%", "Ann", "Bob", "Dee" }, names(P:search({}, { order = "age desc" })))
      assert.are.same({ "Ann", "Bob", "Dee", "Cy", "Eve_1%" },
                      names(P:search({}, { order = "kind desc, name" })))
      assert.are.same({ "Cy", "Eve_1%", "Ann", "Bob", "Dee" },
                      names(P:search({}, { order = "kind, age desc" })))
      -- the model's _order is the default
      assert.are.same({ "Ann", "Bob", "Cy", "Dee", "Eve_1%" }, names(P:search{}))
    end)

    it("limit and offset", function()
      assert.are.same({ "Ann", "Bob" }, names(P:search({}, { order = "name", limit = 2 })))
      assert.are.same({ "Cy", "Dee" }, names(P:search({}, { order = "name", limit = 2, offset = 2 })))
      assert.are.same({ "Eve_1%" }, names(P:search({}, { order = "name", offset = 4 })))
      assert.are.same({}, names(P:search({}, { order = "name", offset = 10 })))
      assert.are.equal(0, #P:search({}, { limit = 0 }))
      local err = h.error_of(P.search, P, {}, { limit = -1 })
      assert.are.equal("EINVAL", err.code)
      assert.matches("limit", err.message)
    end)

    it("converts domain values like written values (Decimal, Datetime, numeric text)", function()
      ann:write{ price = "12.30", seen_at = "2024-03-05 08:20:30" }
      cy:write{ price = "100" }
      assert.are.same({ "Ann" }, found{ { "price", "=", "12.3" } })
      assert.are.same({ "Ann" }, found{ { "price", "=", 12.3 } })
      assert.are.same({ "Ann", "Cy" }, found{ { "price", ">", 10 } })
      assert.are.same({ "Cy" }, found{ { "price", ">", "99.99" } })  -- numeric, not text, order
      assert.are.same({ "Ann" }, found{ { "seen_at", "=", "2024-03-05T10:20:30+02:00" } })
      assert.are.same({ "Ann" }, found{ { "age", "=", "31" } })
      local err = h.error_of(P.search, P, { { "age", "=", "thirty" } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("age", err.field)
      assert.matches("expected an integer", err.message, 1, true)
    end)

    it("search_count", function()
      assert.are.equal(5, P:search_count{})
      assert.are.equal(5, P:search_count())
      assert.are.equal(2, P:search_count{ { "kind", "=", "company" } })
      assert.are.equal(0, P:search_count{ { "name", "=", "nobody" } })
    end)

    it("search_read gives plain tables, a fields subset, Many2one as a plain id", function()
      local rows = P:search_read({ { "parent_id", "!=", orm.null } },
                                 { fields = { "name", "parent_id" }, order = "name" })
      assert.are.equal(3, #rows)
      assert.are.equal("table", type(rows[1]))
      assert.is_nil(getmetatable(rows[1]))
      assert.are.same({ id = bob.id, name = "Bob", parent_id = ann.id }, rows[1])
      assert.are.same({ id = cy.id, name = "Cy", parent_id = ann.id }, rows[2])
      assert.are.same({ id = dee.id, name = "Dee", parent_id = cy.id }, rows[3])
      local limited = P:search_read({}, { fields = { "name", "age" }, order = "age desc", limit = 2, offset = 1 })
      assert.are.same({ { id = eve.id, name = "Eve_1%", age = 45 }, { id = ann.id, name = "Ann", age = 31 } },
                      limited)
      -- without a field list: every stored field; NULLs are absent
      local all = P:search_read{ { "id", "=", dee.id } }
      assert.are.equal(1, #all)
      assert.are.equal("Dee", all[1].name)
      assert.are.equal("dee@x.io", all[1].email)
      assert.are.equal(cy.id, all[1].parent_id)
      assert.is_true(all[1].active)
      assert.is_nil(all[1].age)
    end)

    it("read gives plain tables of the records, in their order", function()
      local rows = (cy + ann):read{ "name", "age", "parent_id" }
      assert.are.same({ { id = cy.id, name = "Cy", age = 64, parent_id = ann.id },
                        { id = ann.id, name = "Ann", age = 31 } }, rows)
      local err = h.error_of(ann.read, ann, { "name", "nope" })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("nope", err.field)
      assert.matches("beh.partner has no field 'nope'", err.message, 1, true)
    end)

    it("filtered_domain keeps this recordset's order", function()
      local recs = P:search({}, { order = "age desc" })
      assert.are.same({ "Cy", "Eve_1%" }, names(recs:filtered_domain{ { "kind", "=", "company" } }))
      assert.are.same({ "Eve_1%", "Ann", "Bob" }, names(recs:filtered_domain{ { "age", "<", 50 } }))
      local part = bob | dee
      assert.are.same({ "Bob" }, names(part:filtered_domain{ { "age", "!=", orm.null } }))
    end)
  end)

  -- -------------------------------------------------------------------
  describe("read_group", function()
    local P
    before_each(function()
      -- archived partners count here (conveniences_spec checks they are hidden by default)
      P = env["beh.partner"]:with_context{ active_test = false }
      P:create{
        { name = "a", kind = "person", age = 10, score = 1.0, birthday = "2020-01-15", seen_at = "2020-01-15 10:00:00" },
        { name = "b", kind = "person", age = 20, score = 2.0, birthday = "2020-01-31", seen_at = "2020-03-01 00:00:00" },
        { name = "c", kind = "person", age = 30, score = 3.0, birthday = "2020-02-01", seen_at = "2021-01-01 00:00:00" },
        { name = "d", kind = "company", age = 40, score = 4.0, birthday = "2021-06-01", seen_at = "2021-06-30 23:59:59" },
        { name = "e", kind = "company", active = false, birthday = "2021-06-02" },
      }
    end)

    local function by(rows, key)
      local out = {}
      for _, r in ipairs(rows) do out[tostring(r[key])] = r end
      return out
    end

    it("counts and aggregates per group", function()
      local rows = P:read_group({}, { "age:sum", "score:avg", "n:min(age)", "x:max(age)", "__count" }, { "kind" })
      assert.are.equal(2, #rows)
      local g = by(rows, "kind")
      assert.are.equal(3, g.person.__count)
      assert.are.equal(60, g.person.age)
      assert.are.equal(2.0, g.person.score)
      assert.are.equal(10, g.person.n)
      assert.are.equal(30, g.person.x)
      assert.are.equal(2, g.company.__count)
      assert.are.equal(40, g.company.age)
      assert.are.equal(4.0, g.company.score) -- AVG ignores NULL
      assert.are.equal(40, g.company.n)
    end)

    it("groups by two fields", function()
      local rows = P:read_group({}, { "age:sum" }, { "kind", "active" })
      assert.are.equal(3, #rows)
      local seen = {}
      for _, r in ipairs(rows) do seen[r.kind .. "/" .. tostring(r.active)] = r end
      assert.are.equal(3, seen["person/true"].__count)
      assert.are.equal(1, seen["company/true"].__count)
      assert.are.equal(1, seen["company/false"].__count)
      assert.are.equal(40, seen["company/true"].age)
    end)

    it("groups dates by month and by year", function()
      local months = P:read_group({}, { "age:sum" }, { "birthday:month" })
      local g = by(months, "birthday:month")
      assert.are.equal(3, #months)
      assert.are.equal(2, g["2020-01"].__count)
      assert.are.equal(30, g["2020-01"].age)
      assert.are.equal(1, g["2020-02"].__count)
      assert.are.equal(2, g["2021-06"].__count)
      local years = P:read_group({}, { "__count" }, { "seen_at:year" })
      local y = by(years, "seen_at:year")
      assert.are.equal(3, #years)
      assert.are.equal(1, y["nil"].__count) -- the record without a date groups apart
      assert.are.equal(2, y["2020"].__count)
      assert.are.equal(2, y["2021"].__count)
    end)

    it("gives a __domain that search can use, with the caller's domain", function()
      local rows = P:read_group({ { "age", ">", 15 } }, { "age:sum" }, { "kind" })
      assert.are.equal(2, #rows)
      for _, r in ipairs(rows) do
        local recs = P:search(r.__domain)
        assert.are.equal(r.__count, #recs)
        for rec in recs:each() do
          assert.are.equal(r.kind, rec.kind)
          assert.is_true(rec.age > 15)
        end
      end
      for _, r in ipairs(P:read_group({}, { "__count" }, { "birthday:month" })) do
        assert.are.equal(r.__count, P:search_count(r.__domain))
      end
      for _, r in ipairs(P:read_group({}, { "__count" }, { "seen_at:year" })) do
        assert.are.equal(r.__count, P:search_count(r.__domain))
      end
    end)

    it("keeps every __domain exact: a Boolean's false and NULL groups, a Many2one's", function()
      local T = env["beh.tag"]
      local t1, t2 = T:create{ name = "t1" }, T:create{ name = "t2" }
      P:search{}:unlink()
      P:create{ { name = "x", active = true, tag_id = t1 }, { name = "y", active = false, tag_id = t1 },
                { name = "z", active = orm.null, tag_id = t2 }, { name = "w", active = false } }
      local rows = P:read_group({}, { "__count" }, { "active" })
      assert.are.equal(3, #rows)
      local total = 0
      for _, r in ipairs(rows) do
        assert.are.equal(r.__count, P:search_count(r.__domain))
        total = total + r.__count
      end
      assert.are.equal(4, total)
      local g = by(rows, "active")
      assert.are.equal(2, g["false"].__count)
      assert.are.equal(1, g["true"].__count)
      assert.are.equal(1, g["nil"].__count)
      rows = P:read_group({}, { "__count" }, { "tag_id" })
      assert.are.equal(3, #rows)
      g = by(rows, "tag_id")
      assert.are.equal(2, g[tostring(t1.id)].__count)
      assert.are.equal(1, g[tostring(t2.id)].__count)
      assert.are.equal(1, g["nil"].__count)
      for _, r in ipairs(rows) do assert.are.equal(r.__count, P:search_count(r.__domain)) end
    end)

    it("orders groups by __count desc, with limit and offset", function()
      local rows = P:read_group({}, { "__count" }, { "kind" }, { orderby = "__count desc", limit = 1 })
      assert.are.equal(1, #rows)
      assert.are.equal("person", rows[1].kind)
      rows = P:read_group({}, { "__count" }, { "kind" }, { orderby = "__count desc", offset = 1 })
      assert.are.equal(1, #rows)
      assert.are.equal("company", rows[1].kind)
      rows = P:read_group({}, { "total:sum(age)", "c:count_distinct(kind)" }, {})
      assert.are.equal(1, #rows)
      assert.are.equal(5, rows[1].__count)
      assert.are.equal(100, rows[1].total)
      assert.are.equal(2, rows[1].c)
    end)

    it("refuses an unknown field and an unknown aggregate", function()
      local err = h.error_of(P.read_group, P, {}, { "age:median" }, { "kind" })
      assert.are.equal("EINVAL", err.code)
      assert.matches("unknown aggregate 'median'", err.message, 1, true)
      err = h.error_of(P.read_group, P, {}, { "age:sum" }, { "nope" })
      assert.are.equal("EINVAL", err.code)
      assert.matches("no field 'nope'", err.message, 1, true)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("recordsets", function()
    local P, a, b, c
    before_each(function()
      P = env["beh.partner"]
      a = P:create{ name = "a", age = 3 }
      b = P:create{ name = "b", age = 1 }
      c = P:create{ name = "c", age = 2, parent_id = a }
    end)

    it("#, [i], ipairs, each, ids, id", function()
      local all = P:search({}, { order = "name" })
      assert.are.equal(3, #all)
      assert.are.equal(a, all[1])
      assert.are.equal(c.id, all[3].id)
      assert.is_nil(all[4])
      assert.is_nil(all[0])
      local seen = {}
      for i, rec in ipairs(all) do seen[i] = rec.name end
      assert.are.same({ "a", "b", "c" }, seen)
      seen = {}
      for rec in all:each() do seen[#seen + 1] = rec.id end
      assert.are.same({ a.id, b.id, c.id }, seen)
      assert.are.same({ a.id, b.id, c.id }, all.ids)
      assert.are.same({}, P.ids)
      assert.are.equal(a.id, a.id)
      assert.are.same({ a.id }, a.ids)
    end)

    it("==, |, &, -, + (set operations)", function()
      local ab, bc = a + b, b + c
      assert.is_true(ab == (b + a))          -- same records, any order
      assert.is_false(ab == bc)
      assert.is_false(a == P:browse({}))
      assert.are.same({ a.id, b.id, c.id }, (ab | bc).ids)
      assert.are.same({ b.id }, (ab & bc).ids)
      assert.are.same({ a.id }, (ab - bc).ids)
      assert.are.same({ a.id, b.id, b.id, c.id }, (ab + bc).ids)  -- + keeps duplicates
      assert.are.same({ a.id, b.id }, ((a + a + b) | P:browse({})).ids)  -- | removes them
      local err = h.error_of(function() return a | env["beh.tag"]:browse({}) end)
      assert.are.equal("EINVAL", err.code)
      assert.matches("cannot combine recordsets of beh.partner and beh.tag", err.message, 1, true)
    end)

    it("ensure_one", function()
      assert.are.equal(a, a:ensure_one())
      local err = h.error_of(function() return (a + b):ensure_one() end)
      assert.are.equal("EINVAL", err.code)
      assert.matches("expected a single record", err.message)
      err = h.error_of(function() return P:ensure_one() end)
      assert.are.equal("EINVAL", err.code)
      assert.matches("expected a single record", err.message)
    end)

    it("exists after unlink", function()
      local all = a + b + c
      b:unlink()
      local alive = all:exists()
      assert.are.same({ a.id, c.id }, alive.ids)
      assert.are.equal(0, #b:exists())
      assert.are.equal(2, P:search_count{})
      -- a deleted record can be neither read nor written
      local err = h.error_of(function() return b.name end)
      assert.are.equal("ENOTFOUND", err.code)
      assert.are.equal("beh.partner", err.model)
      assert.matches("does not exist", err.message, 1, true)
      err = h.error_of(b.write, b, { name = "zombie" })
      assert.are.equal("ENOTFOUND", err.code)
      assert.matches("do not exist", err.message, 1, true)
      assert.are.equal(0, P:search_count{ { "name", "=", "zombie" } })
      -- ondelete set null reaches records already read
      assert.are.equal(a, c.parent_id)
      a:unlink()
      assert.are.equal(0, #c.parent_id)
    end)

    it("mapped: a field, a dotted path, a function", function()
      local all = P:search({}, { order = "name" })
      assert.are.same({ "a", "b", "c" }, all:mapped("name"))
      assert.are.same({ 3, 1, 2 }, all:mapped("age"))
      local parents = all:mapped("parent_id")
      assert.is_true(orm.is_recordset(parents))
      assert.are.same({ a.id }, parents.ids)
      assert.are.same({ "a" }, all:mapped("parent_id.name"))
      assert.are.same({ "A", "B", "C" }, all:mapped(function(r) return r.name:upper() end))
      local err = h.error_of(all.mapped, all, "nope")
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("nope", err.field)
    end)

    it("filtered: a function and a field name", function()
      local all = P:search({}, { order = "name" })
      assert.are.same({ "a", "c" }, names(all:filtered(function(r) return r.age >= 2 end)))
      assert.are.same({ "c" }, names(all:filtered("parent_id")))
      a:write{ active = false }
      assert.are.same({ "b", "c" }, names(all:filtered("active")))
      assert.are.equal(0, #all:filtered(function() return false end))
    end)

    it("sorted: a field, desc, a function, reverse", function()
      local all = a + b + c
      assert.are.same({ "b", "c", "a" }, names(all:sorted("age")))
      assert.are.same({ "a", "c", "b" }, names(all:sorted("age desc")))
      assert.are.same({ "a", "c", "b" }, names(all:sorted("age", true)))
      assert.are.same({ "a", "b", "c" }, names((c + a + b):sorted()))  -- the model's _order
      assert.are.same({ "c", "b", "a" }, names(all:sorted(function(r) return -r.name:byte() end)))
      assert.are.same({ "a", "b", "c" }, names(all:sorted(function(r) return -r.name:byte() end, true)))
    end)

    it("ids grow in creation order, across connections too", function()
      local T = env["beh.tag"]
      local other = orm.connect(h.url)  -- another pool, so another connection
      local a = T:create{ name = "a" }.id
      local b = other["beh.tag"]:create{ name = "b" }.id
      local c = T:create{ name = "c" }.id
      local d = other["beh.tag"]:create{ name = "d" }.id
      other:close()
      assert.is_true(a < b and b < c and c < d, string.format("%s %s %s %s", a, b, c, d))
    end)

    it("browse: one id, a list, a recordset, nothing", function()
      assert.are.equal(a, P:browse(a.id))
      assert.are.same({ c.id, a.id }, P:browse({ c.id, a.id }).ids)
      assert.are.same({ b.id }, P:browse(b).ids)
      assert.are.equal(0, #P:browse())
      assert.are.equal(0, #P:browse({}))
      assert.are.equal("b", P:browse(b.id).name)
      local err = h.error_of(P.browse, P, { a.id, { "not an id" } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("beh.partner", err.model)
      assert.matches("browse: item 2 is not an id", err.message, 1, true)
      err = h.error_of(P.browse, P, { 1.5 })
      assert.are.equal("EINVAL", err.code)
    end)

    it("copy, with and without default", function()
      local src = P:create{ name = "orig", age = 7, email = "o@x.io", parent_id = a, data = { k = 1 } }
      local cp = src:copy{ email = "copy@x.io" }
      assert.are.equal(1, #cp)
      assert.are_not.equal(src.id, cp.id)
      env:invalidate()
      assert.are.equal("orig", cp.name)
      assert.are.equal(7, cp.age)
      assert.are.equal("copy@x.io", cp.email)
      assert.are.equal(a, cp.parent_id)
      assert.are.same({ k = 1 }, cp.data)
      assert.are.equal("orig <copy@x.io>", cp.display)  -- stored compute redone
      local two = (a + b):copy{ name = "dup" }
      assert.are.equal(2, #two)
      assert.are.same({ "dup", "dup" }, names(two))
      assert.are.same({ 3, 1 }, two:mapped("age"))
      assert.are.equal(7, P:search_count{})
      -- a unique field copied as is conflicts
      local err = h.error_of(src.copy, src)
      assert.are.equal("ECONFLICT", err.code)
      assert.are.equal("email", err.field)
    end)

    it("with_context and _context", function()
      assert.are.same({}, a._context)
      local ctx = a:with_context{ lang = "fr", tz = "UTC" }
      assert.are.equal(a, ctx)
      assert.are.equal("fr", ctx._context.lang)
      local more = ctx:with_context{ lang = "de" }
      assert.are.same({ lang = "de", tz = "UTC" }, more._context)
      assert.are.same({ lang = "fr", tz = "UTC" }, ctx._context)
      assert.are.same({}, a._context)
      -- a record taken from a recordset with a context keeps it
      local all = P:search{}:with_context{ k = 1 }
      assert.are.equal(1, all[1]._context.k)
    end)

    it("tostring names the model and the ids", function()
      assert.are.equal("beh.partner(" .. tostring(a.id) .. ")", tostring(a))
      assert.are.equal("beh.partner(" .. tostring(a.id) .. ", " .. tostring(b.id) .. ")", tostring(a + b))
      assert.are.equal("beh.partner()", tostring(P))
    end)

    it("reading a field on several records is an error that says so", function()
      local err = h.error_of(function() return (a + b).name end)
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("name", err.field)
      assert.are.equal("beh.partner", err.model)
      assert.matches("2 records", err.message)
      assert.matches("expected one", err.message)
      -- an empty recordset reads as empty
      assert.is_nil(P.name)
      assert.are.equal(0, #P.parent_id)
    end)

    it("an unknown attribute is an error naming it", function()
      local err = h.error_of(function() return a.nope end)
      assert.are.equal("EINVAL", err.code)
      assert.matches("beh.partner has no field or method 'nope'", err.message, 1, true)
    end)

    it("writes through assignment", function()
      a.name = "renamed"
      a.age = 99
      a.parent_id = b
      env:invalidate()
      assert.are.equal("renamed", a.name)
      assert.are.equal(99, a.age)
      assert.are.equal(b, a.parent_id)
      assert.are.equal(1, P:search_count{ { "name", "=", "renamed" } })
      a.parent_id = orm.null
      env:invalidate()
      assert.are.equal(0, #a.parent_id)
      local err = h.error_of(function() a.nope = 1 end)
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("nope", err.field)
    end)

    it("write and unlink", function()
      assert.is_true((a + b):write{ age = 50, notes = "bulk" })
      env:invalidate()
      assert.are.same({ 50, 50 }, (a + b):mapped("age"))
      assert.are.equal(2, P:search_count{ { "notes", "=", "bulk" } })
      assert.are.equal(2, c.age)
      assert.is_true(P:write{ age = 1 })   -- nothing to write
      assert.is_true((a + c):unlink())
      assert.are.same({ b.id }, P:search{}.ids)
      assert.is_true(P:unlink())            -- nothing to delete
      assert.are.equal(1, P:search_count{})
    end)

    it("unlink applies ondelete set null and cascade", function()
      c:write{ parent_id = a }
      a:unlink()
      env:invalidate()
      assert.are.equal(0, #c.parent_id)
      local C = env["beh.cat"]
      local root = C:create{ name = "root" }
      local kid = C:create{ name = "kid", parent_id = root }
      C:create{ name = "grandkid", parent_id = kid }
      root:unlink()
      assert.are.equal(0, C:search_count{})
    end)

    it("ondelete cascade ends on cycles and goes deep, all at once", function()
      local C = env["beh.cat"]
      local x = C:create{ name = "x" }
      local y = C:create{ name = "y", parent_id = x }
      x:write{ parent_id = y } -- a cycle
      x:unlink()
      assert.are.equal(0, C:search_count{})
      local prev = C:create{ name = "level 0" }
      for i = 1, 60 do prev = C:create{ name = "level " .. i, parent_id = prev } end
      assert.are.equal(61, C:search_count{})
      C:search{ { "name", "=", "level 0" } }:unlink()
      assert.are.equal(0, C:search_count{})
    end)

    it("ondelete restrict refuses, naming the referencing model and field", function()
      local L = env["beh.lock"]
      L:create{ name = "holds a", partner_id = a }
      local before = P:search_count{}
      local err = h.error_of(function() a:unlink() end)
      assert.are.equal("ECONFLICT", err.code)
      assert.matches("beh.lock", err.message, 1, true)
      assert.matches("partner_id", err.message, 1, true)
      assert.matches("restrict", err.message, 1, true)
      assert.are.equal("beh.lock", err.model)
      assert.are.equal("partner_id", err.field)
      assert.are.equal(before, P:search_count{})
      -- a parent deleted together with its children is not held back by them
      local top = L:create{ name = "top" }
      local child = L:create{ name = "child", parent_id = top }
      assert.has_error(function() top:unlink() end)
      ;(top | child):unlink()
      assert.are.equal(0, L:search_count{ { "name", "in", { "top", "child" } } })
      L:search{}:unlink()
    end)

    it("calls the model's methods on recordsets", function()
      assert.are.equal("Hello, a!", a:greeting())
      assert.are.equal("Hello, b?", b:greeting("?"))
      assert.are.equal(3, P:search{}:count_me())
      assert.are.equal(0, P:count_me())
      local err = h.error_of(function() return (a + b):greeting() end)
      assert.are.equal("EINVAL", err.code)
      assert.matches("expected a single record", err.message)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("computed fields", function()
    it("computes a stored field on create and recomputes it after a write of a dependency", function()
      local P = env["beh.partner"]
      local r = P:create{ name = "Ann", email = "a@x.io" }
      assert.are.equal("Ann <a@x.io>", r.display)
      env:invalidate()
      assert.are.equal("Ann <a@x.io>", r.display)
      assert.are.equal(1, P:search_count{ { "display", "=", "Ann <a@x.io>" } })
      r:write{ email = "new@x.io" }
      env:invalidate()
      assert.are.equal("Ann <new@x.io>", r.display)
      r.name = "Anna"
      env:invalidate()
      assert.are.equal("Anna <new@x.io>", r.display)
      -- a write of another field does not recompute
      local runs = ctl.display_runs
      r:write{ age = 3 }
      assert.are.equal(runs, ctl.display_runs)
      assert.are.equal("Anna <new@x.io>", P:search_read({}, { fields = { "display" } })[1].display)
    end)

    it("computes a batch in one call", function()
      local P = env["beh.partner"]
      ctl.display_runs = 0
      local recs = P:create{ { name = "x" }, { name = "y", email = "y@y" }, { name = "z" } }
      assert.are.equal(1, ctl.display_runs)
      assert.are.same({ "x <>", "y <y@y>", "z <>" }, recs:mapped("display"))
    end)

    it("computes a non-stored field on read, for the whole recordset at once", function()
      local P = env["beh.partner"]
      P:create{ { name = "x" }, { name = "y" }, { name = "z" } }
      env:invalidate()
      ctl.shout_runs = 0
      local all = P:search({}, { order = "name" })
      assert.are.same({ "X!", "Y!", "Z!" }, all:mapped("shout"))
      assert.are.equal(1, ctl.shout_runs)
      env:invalidate()
      ctl.shout_runs = 0
      local seen = {}
      for rec in all:each() do seen[#seen + 1] = rec.shout end
      assert.are.same({ "X!", "Y!", "Z!" }, seen)
      assert.are.equal(1, ctl.shout_runs)    -- one call for the whole loop
      local r = all[1]
      r.name = "w"
      assert.are.equal("W!", r.shout)
      -- read() and search_read() compute it too
      assert.are.equal("W!", r:read{ "shout" }[1].shout)
      local rows = P:search_read({}, { fields = { "name", "shout" }, order = "name" })
      assert.are.equal("W!", rows[1].shout)
      assert.are.equal("Z!", rows[3].shout)
    end)

    it("computes a non-stored field for a record deep in a sorted or filtered recordset", function()
      -- the compute window is 10000 records: the record asked for lies past it
      local P = env["beh.word"]
      local list = {}
      for i = 1, 10002 do list[i] = { name = string.format("p%05d", i) } end
      P:create(list)
      env:invalidate()
      local all = P:search({}, { order = "name" })
      local last = all:sorted("name desc")[1]
      assert.are.equal("P10002!", last.shout)
      env:invalidate()
      local one = all:filtered(function(r) return r.name == "p10001" end)
      assert.are.equal("P10001!", one.shout)
    end)

    it("refuses assignment to a computed field outside its compute method", function()
      local r = env["beh.partner"]:create{ name = "x" }
      local err = h.error_of(function() r.display = "forced" end)
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("display", err.field)
      assert.matches("it is computed", err.message)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("constrains validators", function()
    it("raise orm.ValidationError naming the field; nothing is written", function()
      local C = env["beh.checked"]
      local err = h.error_of(C.create, C, { name = "odd", qty = 3 })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("qty", err.field)
      assert.are.equal("beh.checked", err.model)
      assert.matches("qty must be even", err.message)
      assert.are.equal(0, C:search_count{})
      err = h.error_of(C.create, C, { name = "over", qty = 4, limit = 2 })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("limit", err.field)
      assert.matches("over the limit", err.message)
      assert.are.equal(0, C:search_count{})
    end)

    it("run on create, and on write only when one of their fields changes", function()
      local C = env["beh.checked"]
      ctl.qty_checks = 0
      local r = C:create{ name = "ok", qty = 2 }
      assert.are.equal(1, ctl.qty_checks)
      r:write{ note = "unrelated" }
      assert.are.equal(1, ctl.qty_checks)
      r:write{ qty = 4 }
      assert.are.equal(2, ctl.qty_checks)
      local err = h.error_of(r.write, r, { qty = 5 })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("qty", err.field)
      assert.are.equal(3, ctl.qty_checks)
      assert.are.equal(4, r.qty)   -- the refused write was rolled back, cache included
      env:invalidate()
      assert.are.equal(4, r.qty)
      -- a write that leaves the checked field alone passes even if a check would fail
      err = h.error_of(r.write, r, { limit = 1 })
      assert.are.equal("limit", err.field)
      env:invalidate()
      assert.is_nil(r.limit)
    end)

    it("a Lua error inside a validator is a clear error naming the model; nothing written", function()
      local B = env["beh.buggy"]
      ctl.buggy = true
      local err = h.error_of(B.create, B, { name = "x", n = 1 })
      assert.is_true(orm.is_error(err))
      assert.are.equal("ERROR", err.code)
      assert.are.equal("beh.buggy", err.model)
      assert.matches("beh.buggy: error in constraint on n", err.message, 1, true)
      assert.matches("attempt to index", err.message)
      assert.matches("behaviour_spec.lua:%d+:", err.message)  -- where in the validator
      assert.are.equal(0, B:search_count{})
      ctl.buggy = false
      local r = B:create{ name = "y", n = 1 }
      ctl.buggy = true
      err = h.error_of(r.write, r, { n = 2 })
      assert.matches("error in constraint on n", err.message, 1, true)
      assert.are.equal(1, r.n)
      env:invalidate()
      assert.are.equal(1, r.n)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("events", function()
    local E
    before_each(function() E = env["beh.event"] end)

    local function events()
      local out = {}
      for _, e in ipairs(ctl.log) do out[#out + 1] = e[1] end
      return out
    end

    it("before_create and after_create get the model, the records and the values", function()
      local recs = E:create{ { name = "a" }, { name = "b", note = "given" } }
      assert.are.same({ "before_create", "after_create" }, events())
      local bc, ac = ctl.log[1], ctl.log[2]
      assert.are.equal("beh.event", bc[2]._name)
      assert.are.equal(0, #bc[2])
      assert.are.equal(2, bc[3])
      assert.are.equal(recs, ac[2])
      assert.are.equal(2, ac[3])
      env:invalidate()
      -- before_create changed the values that were stored
      assert.are.same({ "set by before_create", "given" }, recs:mapped("note"))
    end)

    it("before_write and after_write get the records and the values", function()
      local r = E:create{ name = "a" }
      ctl.log = {}
      r:write{ n = 5 }
      assert.are.same({ "before_write", "after_write" }, events())
      assert.are.equal(r, ctl.log[1][2])
      assert.are.same({ n = 5 }, ctl.log[1][3])
      assert.are.equal(r, ctl.log[2][2])
      assert.are.same({ n = 5 }, ctl.log[2][3])
      ctl.log = {}
      r.note = "assigned"
      assert.are.same({ "before_write", "after_write" }, events())
      assert.are.same({ note = "assigned" }, ctl.log[2][3])
    end)

    it("before_unlink and after_unlink get the records", function()
      local recs = E:create{ { name = "a" }, { name = "b" } }
      ctl.log = {}
      recs:unlink()
      assert.are.same({ "before_unlink", "after_unlink" }, events())
      assert.are.equal(recs, ctl.log[1][2])
      assert.are.equal(2, ctl.log[1][3])
      assert.are.equal(0, E:search_count{})
    end)

    it("an error in before_create aborts: nothing is written, the error names the model and event", function()
      ctl.fail_before_create = true
      local err = h.error_of(E.create, E, { name = "a" })
      assert.is_true(orm.is_error(err))
      assert.are.equal("ERROR", err.code)
      assert.are.equal("beh.event", err.model)
      assert.matches("beh.event: error in before_create handler", err.message, 1, true)
      assert.matches("refused by before_create", err.message, 1, true)
      assert.are.same({ "before_create" }, events())
      assert.are.equal(0, E:search_count{})
    end)

    it("a Lua runtime error in a handler names the model and the event; nothing is written", function()
      ctl.bug = true
      local err = h.error_of(E.create, E, { { name = "a" }, { name = "b" } })
      assert.are.equal("ERROR", err.code)
      assert.are.equal("beh.event", err.model)
      assert.matches("beh.event: error in before_create handler", err.message, 1, true)
      assert.matches("attempt to index a nil value", err.message, 1, true)
      assert.matches("behaviour_spec.lua:%d+:", err.message)  -- where in the handler
      assert.are.equal(0, E:search_count{})
    end)

    it("an error in after_create rolls the create back, with what the handlers wrote", function()
      ctl.side_effect = true
      E:create{ name = "kept" }
      assert.are.equal(1, env["beh.tag"]:search_count{})
      ctl.log = {}
      ctl.fail_after_create = true
      local err = h.error_of(E.create, E, { { name = "a" }, { name = "b" } })
      assert.are.equal("beh.event", err.model)
      assert.matches("refused by after_create", err.message, 1, true)
      assert.are.same({ "before_create", "after_create" }, events())
      assert.are.equal(1, E:search_count{})
      assert.are.equal(1, env["beh.tag"]:search_count{})  -- the handler's own create is undone too
    end)

    it("an error in before_write or after_write leaves the record as it was", function()
      local r = E:create{ name = "a", n = 1 }
      ctl.fail_before_write = true
      local err = h.error_of(r.write, r, { n = 2 })
      assert.are.equal("ERROR", err.code)
      assert.are.equal("beh.event", err.model)
      assert.matches("beh.event: error in before_write handler", err.message, 1, true)
      assert.matches("refused by before_write", err.message, 1, true)
      assert.are.equal(1, r.n)
      env:invalidate()
      assert.are.equal(1, r.n)
      ctl.fail_before_write = nil
      ctl.fail_after_write = true
      err = h.error_of(r.write, r, { n = 3 })
      assert.matches("beh.event: error in after_write handler", err.message, 1, true)
      assert.matches("refused by after_write", err.message, 1, true)
      assert.are.equal(1, r.n)
      env:invalidate()
      assert.are.equal(1, r.n)
      assert.are.equal(1, E:search_count{ { "n", "=", 1 } })
    end)

    it("an error in before_unlink or after_unlink deletes nothing", function()
      local r = E:create{ name = "a" }
      ctl.fail_before_unlink = true
      local err = h.error_of(r.unlink, r)
      assert.matches("before_unlink handler", err.message, 1, true)
      assert.are.equal(1, E:search_count{})
      ctl.fail_before_unlink = nil
      ctl.fail_after_unlink = true
      err = h.error_of(r.unlink, r)
      assert.matches("refused by after_unlink", err.message, 1, true)
      assert.are.equal(1, E:search_count{})
      assert.are.equal(1, #r:exists())
    end)

    it("off() removes a handler", function()
      local calls = 0
      local fn = Ev:on("after_write", function() calls = calls + 1 end)
      local r = E:create{ name = "a" }
      r:write{ n = 1 }
      assert.are.equal(1, calls)
      assert.is_true(Ev:off("after_write", fn))
      r:write{ n = 2 }
      assert.are.equal(1, calls)
      assert.is_false(Ev:off("after_write", fn))
    end)
  end)

  -- -------------------------------------------------------------------
  describe("transactions", function()
    if not h.caps().transactions then
      -- a standalone MongoDB or FerretDB: no transaction is pretended
      it("are refused with ENOTSUP naming the server; the function never runs", function()
        local T = env["beh.tag"]
        local ran = false
        local err = h.error_of(env.transaction, env, function(tx)
          ran = true
          tx["beh.tag"]:create{ name = "in" }
        end)
        assert.are.equal("ENOTSUP", err.code)
        assert.matches("has no transactions", err.message, 1, true)
        assert.matches(h.caps().server, err.message, 1, true)
        assert.is_false(ran)
        assert.are.equal(0, T:search_count{})
        assert.is_false(env:in_transaction())
        assert.is_false(h.caps().savepoints)
      end)
      return
    end

    it("commits when the function returns, and returns its results", function()
      local T = env["beh.tag"]
      local x, y = env:transaction(function(tx)
        tx["beh.tag"]:create{ name = "in" }
        return 1, "two"
      end)
      assert.are.equal(1, x)
      assert.are.equal("two", y)
      assert.are.equal(1, T:search_count{})
      assert.is_false(env:in_transaction())
    end)

    it("rolls back and re-raises when the function fails", function()
      local T = env["beh.tag"]
      T:create{ name = "before" }
      local err = h.error_of(env.transaction, env, function(tx)
        tx["beh.tag"]:create{ name = "ghost" }
        tx["beh.tag"]:search{}:write{ color = 9 }
        error("changed my mind")
      end)
      assert.matches("changed my mind", tostring(err))
      assert.are.equal(1, T:search_count{})
      assert.are.equal(0, T:search_count{ { "name", "=", "ghost" } })
      local before = T:search{}
      assert.is_nil(before.color)          -- the record store forgot the write
      env:invalidate()
      assert.is_nil(before.color)
      assert.is_false(env:in_transaction())
    end)

    it("nested: an inner failure caught rolls back only the inner part", function()
      local T = env["beh.tag"]
      env:transaction(function(tx)
        tx["beh.tag"]:create{ name = "outer" }
        local ok, err = pcall(tx.transaction, tx, function(inner)
          inner["beh.tag"]:create{ name = "inner" }
          error(orm.Error("inner fails"))
        end)
        assert.is_false(ok)
        assert.matches("inner fails", err.message)
        assert.is_true(tx:in_transaction())
        tx["beh.tag"]:create{ name = "after" }
      end)
      assert.are.same({ "after", "outer" }, sorted_names(T:search{}))
    end)

    it("nested: an outer failure rolls back the committed inner part too", function()
      local T = env["beh.tag"]
      pcall(env.transaction, env, function(tx)
        tx:transaction(function(inner) inner["beh.tag"]:create{ name = "inner" } end)
        error("outer fails")
      end)
      assert.are.equal(0, T:search_count{})
    end)

    it("refuses an unknown isolation level", function()
      local err = h.error_of(env.transaction, env, function() end, { isolation = "chaos" })
      assert.are.equal("EINVAL", err.code)
      assert.matches("unknown isolation level 'chaos'", err.message, 1, true)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("queries and prefetch", function()
    it("reads a field across 200 records of a search result in 1 query", function()
      local I = env["beh.item"]
      local list = {}
      for i = 1, 200 do list[i] = { name = "item" .. i, seq = i } end
      I:create(list)
      env:invalidate()
      local recs
      assert.are.equal(1, count_queries(env, function() recs = I:search{} end))
      assert.are.equal(200, #recs)
      local sum = 0
      assert.are.equal(1, count_queries(env, function()
        for rec in recs:each() do sum = sum + rec.seq end
      end))
      assert.are.equal(200 * 201 / 2, sum)
      -- a second read is served by the record store
      assert.are.equal(0, count_queries(env, function() recs:mapped("name") end))
    end)

    it("a record outlives the recordset it came from (it keeps what it borrows alive)", function()
      local I = env["beh.item"]
      I:create{ { name = "a", seq = 1 }, { name = "b", seq = 2 } }
      env:invalidate()
      local first, second
      do
        local recs = I:search{}
        for rec in recs:each() do
          if first then second = rec else first = rec end
        end
      end
      collectgarbage()
      collectgarbage()
      assert.are.equal("a", first.name)
      assert.are.equal(2, second.seq)
      assert.are.equal(1, #first)
      assert.is_true(first ~= second)
      assert.is_true(orm.is_recordset(first))
      -- its own recordsets (set operations, with_context) are full recordsets
      local both = first | second
      first, second = nil, nil
      collectgarbage()
      assert.are.same({ "a", "b" }, both:mapped("name"))
    end)

    it("a large window loads the field read and those read before it; a small one every field", function()
      local I = env["beh.item"]
      local list = {}
      for i = 1, 3000 do list[i] = { name = "item" .. i, seq = i } end
      I:create(list)
      env:invalidate()
      local recs = I:search{}
      assert.are.equal(0, env:stats().store.values)
      local sum = 0
      assert.are.equal(1, count_queries(env, function()
        for rec in recs:each() do sum = sum + rec.seq end
      end))
      assert.are.equal(3000 * 3001 / 2, sum)
      -- the store holds seq, nothing else
      assert.are.equal(3000, env:stats().store.values)
      assert.are.equal(3000, env:stats().store.records)
      -- a second field costs one more query; the store then holds both
      local same = 0
      assert.are.equal(1, count_queries(env, function()
        for rec in recs:each() do
          if rec.name == "item" .. rec.seq then same = same + 1 end
        end
      end))
      assert.are.equal(3000, same)
      assert.are.equal(6000, env:stats().store.values)
      -- once both were read, a load brings both: one query for the loop
      env:invalidate()
      assert.are.equal(1, count_queries(env, function()
        for rec in recs:each() do sum = sum + #rec.name + rec.seq end
      end))
      assert.are.equal(6000, env:stats().store.values)
      -- a small window loads every prefetchable field at once
      env:invalidate()
      local few = I:search({}, { limit = 10 })
      assert.are.equal(1, count_queries(env, function()
        for rec in few:each() do sum = sum + rec.seq + #rec.name + #rec.owner_id end
      end))
    end)

    -- (on FerretDB a long `id in` is sent as the range of its ids and the
    -- records between them that were not asked for are dropped client-side)
    it("loads exactly the records asked for by a long id list, in 1 query", function()
      local I = env["beh.item"]
      local list = {}
      for i = 1, 2100 do list[i] = { name = "item" .. i, seq = i } end
      local all = I:create(list)
      local odd = {}
      for i = 1, 2100, 2 do odd[#odd + 1] = all[i].id end -- 1050 ids, every other one
      env:invalidate()
      local recs = I:browse(odd)
      local seqs = {}
      assert.are.equal(1, count_queries(env, function()
        for rec in recs:each() do seqs[#seqs + 1] = rec.seq end
      end))
      assert.are.equal(1050, #seqs)
      for k, s in ipairs(seqs) do assert.are.equal(2 * k - 1, s) end
      -- the store holds those 1050 and none of the records between them
      assert.are.equal(1050, env:ping().cache.records)
      -- orm.null in the list matches nothing, as in SQL
      local with_null = { orm.null }
      for _, id in ipairs(odd) do with_null[#with_null + 1] = id end
      assert.are.equal(1050, I:search_count{ { "id", "in", with_null } })
      assert.are.equal(1050, #I:search{ { "id", "in", with_null } })
      -- with another condition beside it, and through search_read
      local found = I:search({ { "id", "in", odd }, { "seq", ">", 2000 } }, { order = "seq" })
      assert.are.equal(50, #found)
      assert.are.equal(2001, found[1].seq)
      assert.are.equal(2099, found[50].seq)
      local rows = I:search_read({ { "id", "in", odd }, { "seq", "<=", 20 } }, { fields = { "seq" } })
      assert.are.equal(10, #rows)
      for _, row in ipairs(rows) do assert.are.equal(1, row.seq % 2) end
      -- under an OR the list is not a range: the other branch still counts
      local either = I:search{ "|", { "id", "in", odd }, { "seq", "=", 2 } }
      assert.are.equal(1051, #either)
      assert.are.equal(0, I:search_count{ { "id", "in", odd }, { "seq", "=", 2 } })
    end)

    it("a loop over more than two windows holds one window of values, not all", function()
      local I = env["beh.item"]
      local list = {}
      for i = 1, 1000 do list[i] = { name = "item" .. i, seq = i } end
      I:create(list)
      local small = orm.connect{ database = h.url, prefetch = 100 }
      local recs = small["beh.item"]:search{}
      local sum, most = 0, 0
      assert.are.equal(10, count_queries(small, function()
        for rec in recs:each() do
          sum = sum + rec.seq
          local held = small:stats().store.records
          if held > most then most = held end
        end
      end))
      assert.are.equal(1000 * 1001 / 2, sum)
      assert.is_true(most <= 200, "held " .. most .. " records")
      assert.are.equal(100, small:stats().store.records) -- the last window
      -- a record of a window left behind is read again: one query
      assert.are.equal(1, count_queries(small, function() assert.are.equal(1, recs[1].seq) end))
      -- two windows or fewer keep everything: a second loop costs nothing
      local two = small["beh.item"]:search({}, { limit = 200 })
      small:invalidate()
      for rec in two:each() do sum = sum + rec.seq end
      assert.are.equal(0, count_queries(small, function()
        for rec in two:each() do sum = sum + rec.seq end
      end))
      small:close()
    end)

    it("a large recordset gone releases its values; a small one keeps them", function()
      local I = env["beh.item"]
      local list = {}
      for i = 1, 1000 do list[i] = { name = "item" .. i, seq = i } end
      I:create(list)
      local small = orm.connect{ database = h.url, prefetch = 100 }
      local M = small["beh.item"]
      do
        local recs = M:search{}
        local sum = 0
        for _, rec in ipairs(recs) do sum = sum + rec.seq end -- ipairs: no window release
        assert.are.equal(1000 * 1001 / 2, sum)
        assert.are.equal(1000, small:stats().store.records)
      end
      collectgarbage()
      collectgarbage()
      -- released at the next call into a recordset of the env
      assert.are.equal(1000, M:search_count{})
      assert.are.equal(0, small:stats().store.records)
      -- two windows (200 records): what they loaded stays
      do
        local few = M:search({}, { limit = 200 })
        for _, rec in ipairs(few) do local _ = rec.seq end
      end
      collectgarbage()
      collectgarbage()
      assert.are.equal(1000, M:search_count{})
      assert.are.equal(200, small:stats().store.records)
      small:close()
    end)

    it("Many2one targets read across windows stay valid after the loop moved on", function()
      local ps = {}
      for i = 1, 250 do ps[i] = { name = string.format("p%03d", i) } end
      local parents = env["beh.partner"]:create(ps)
      local items = {}
      for i = 1, 250 do items[i] = { name = "i" .. i, seq = i, owner_id = parents[i].id } end
      env["beh.item"]:create(items)
      local small = orm.connect{ database = h.url, prefetch = 50 }
      local kept = {}
      local q = count_queries(small, function()
        for rec in small["beh.item"]:search{}:each() do
          local owner = rec.owner_id
          assert.are.equal(string.format("p%03d", rec.seq), owner.name)
          kept[#kept + 1] = owner
        end
      end)
      -- the search, then per window of 50: the items, their owners
      assert.are.equal(1 + 5 * 2, q)
      collectgarbage()
      collectgarbage()
      for i, owner in ipairs(kept) do
        assert.are.equal(string.format("p%03d", i), owner.name)
        assert.are.equal(parents[i].id, owner.id)
      end
      small:close()
    end)

    it("loads prefetch windows of orm.connect{ prefetch = N }, larger where queries scan", function()
      local I = env["beh.item"]
      local list = {}
      for i = 1, 300 do list[i] = { name = "item" .. i, seq = i } end
      I:create(list)
      local small = orm.connect{ database = h.url, prefetch = 100 }
      local recs = small["beh.item"]:search{}
      local sum = 0
      assert.are.equal(3, count_queries(small, function()
        for rec in recs:each() do sum = sum + rec.seq end
      end))
      assert.are.equal(300 * 301 / 2, sum)
      small:close()
      local caps = h.caps()
      assert.are.equal(caps.server:match("^FerretDB") ~= nil, caps.table_scans)
      if caps.table_scans then
        -- 20,000 records a query elsewhere; one query for 20,100 here
        list = {}
        for i = 1, 19800 do list[i] = { name = "more", seq = 300 + i } end
        I:create(list)
        env:invalidate()
        recs = I:search{}
        assert.are.equal(20100, #recs)
        sum = 0
        assert.are.equal(1, count_queries(env, function()
          for rec in recs:each() do sum = sum + rec.seq end
        end))
        assert.are.equal(20100 * 20101 / 2, sum)
      end
    end)

    it("a contradictory domain costs 0 queries", function()
      local T = env["beh.tag"]
      T:create{ name = "x" }
      local n, recs
      assert.are.equal(0, count_queries(env, function()
        recs = T:search{ { "name", "=", "x" }, { "name", "=", "y" } }
        n = T:search_count{ { "id", "in", {} } }
      end))
      assert.are.equal(0, #recs)
      assert.are.equal(0, n)
    end)

    it("prefetches Many2one: parent_id.name over 100 records costs 2 queries", function()
      local P, I = env["beh.partner"], env["beh.item"]
      local owners = P:create{ { name = "o1" }, { name = "o2" }, { name = "o3" }, { name = "o4" }, { name = "o5" } }
      local list = {}
      for i = 1, 100 do list[i] = { name = "i" .. i, seq = i, owner_id = owners[(i - 1) % 5 + 1].id } end
      I:create(list)
      env:invalidate()
      local recs = I:search{}
      assert.are.equal(100, #recs)
      local got = {}
      -- one query for the items' owner_id, one for the owners' names
      assert.are.equal(2, count_queries(env, function()
        for rec in recs:each() do got[#got + 1] = rec.owner_id.name end
      end))
      assert.are.equal(100, #got)
      assert.are.equal("o1", got[1])
      assert.are.equal("o5", got[5])
      assert.are.equal("o1", got[96])
      assert.are.equal(0, count_queries(env, function() recs:mapped("owner_id.name") end))
    end)

    it("prefetches a self-referencing Many2one in a bounded number of queries", function()
      local C = env["beh.cat"]
      local roots = C:create{ { name = "r1" }, { name = "r2" }, { name = "r3" } }
      local list = {}
      for i = 1, 100 do list[i] = { name = string.format("k%03d", i), parent_id = roots[(i - 1) % 3 + 1].id } end
      C:create(list)
      env:invalidate()
      local kids = C:search{ { "parent_id", "!=", orm.null } }
      assert.are.equal(100, #kids)
      local got
      assert.are.equal(2, count_queries(env, function() got = kids:mapped("parent_id.name") end))
      assert.are.same({ "r1", "r2", "r3" }, got)
      local n = 0
      assert.are.equal(0, count_queries(env, function()
        for kid in kids:each() do if kid.parent_id.name == "r2" then n = n + 1 end end
      end))
      assert.are.equal(33, n)
    end)

    it("search_read, read and filtered_domain cost one query each", function()
      local T = env["beh.tag"]
      local list = {}
      for i = 1, 50 do list[i] = { name = "t" .. i, color = i } end
      local recs = T:create(list)
      env:invalidate()
      local rows
      assert.are.equal(1, count_queries(env, function() rows = T:search_read({}, { fields = { "name" } }) end))
      assert.are.equal(50, #rows)
      assert.are.equal(1, count_queries(env, function() rows = recs:read{ "name", "color" } end))
      assert.are.equal(50, rows[50].color)
      assert.are.equal(1, count_queries(env, function() rows = recs:filtered_domain{ { "color", ">", 40 } } end))
      assert.are.equal(10, #rows)
    end)

    it("counts queries in env:stats() and resets them", function()
      env["beh.tag"]:create{ name = "x" }
      env:reset_stats()
      assert.are.equal(0, env:stats().queries)
      env["beh.tag"]:search_count{}
      local s = env:stats()
      assert.are.equal(1, s.queries)
      assert.are.equal(env.backend, s.backend)
      assert.are.equal(1, s.queries_by_backend[s.backend])
      assert.are.equal("table", type(s.store))
    end)

    it("env:close() ends the environment; its recordsets refuse to work", function()
      local r = env["beh.tag"]:create{ name = "x" }
      local T = env["beh.tag"]
      env:close()
      local err = h.error_of(function() return r.name end)
      assert.are.equal("ETXNSTATE", err.code)
      assert.matches("closed environment", err.message, 1, true)
      err = h.error_of(function() return T:search{} end)
      assert.are.equal("ETXNSTATE", err.code)
      err = h.error_of(env.ping, env)
      assert.are.equal("ETXNSTATE", err.code)
      assert.matches("closed environment", err.message, 1, true)
      env:close() -- twice is harmless
      env = h.fresh_env() -- a new connection works
      assert.are.equal(1, #env["beh.tag"]:create{ name = "y" })
    end)

    it("env:ping() reports a reachable backend", function()
      local p = env:ping()
      assert.is_true(p.ok)
      assert.are.equal(env.backend, p.backend)
      assert.are.equal("string", type(p.backend))
      assert.are.equal("number", type(p.latency_ms))
      assert.is_true(p.latency_ms >= 0)
      assert.is_nil(p.error)
      -- and the cache: the in-process record store, with what it holds
      assert.are.equal("memory", p.cache.kind)
      assert.is_true(p.cache.ok)
      assert.are.equal("number", type(p.cache.latency_ms))
      assert.is_true(p.cache.latency_ms >= 0)
      env:invalidate()
      assert.are.equal(0, env:ping().cache.records)
      local tags = env["beh.tag"]:create{ { name = "p1" }, { name = "p2" } }
      tags:mapped("name")
      assert.are.equal(2, env:ping().cache.records)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("bad input", function()
    local P
    before_each(function() P = env["beh.partner"] end)

    it("unknown model", function()
      local err = h.error_of(function() return env["no.such"] end)
      assert.are.equal("ENOTFOUND", err.code)
      assert.are.equal("no.such", err.model)
      assert.matches("unknown model 'no.such'", err.message, 1, true)
      assert.matches("beh.partner", err.message, 1, true) -- lists the known ones
    end)

    it("unknown field in create and write", function()
      local err = h.error_of(P.create, P, { name = "x", nmae = "typo" })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("nmae", err.field)
      assert.are.equal("beh.partner", err.model)
      assert.matches("beh.partner has no field 'nmae'", err.message, 1, true)
      assert.are.equal(0, P:search_count{})
      local r = P:create{ name = "x" }
      err = h.error_of(r.write, r, { agee = 3 })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("agee", err.field)
      assert.matches("has no field 'agee'", err.message, 1, true)
    end)

    it("unknown field in a domain, and through a dotted path", function()
      local err = h.error_of(P.search, P, { { "nope", "=", 1 } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("beh.partner", err.model)
      assert.are.equal("nope", err.field)
      assert.matches("no field 'nope'", err.message, 1, true)
      err = h.error_of(P.search_count, P, { { "parent_id.nope", "=", 1 } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("nope", err.field)
      assert.matches("no field 'nope'", err.message, 1, true)
      err = h.error_of(P.search, P, { { "name.x", "=", 1 } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("name", err.field)
      assert.matches("relational", err.message, 1, true)
      err = h.error_of(P.search_read, P, { { "nope", "=", 1 } }, { fields = { "name" } })
      assert.are.equal("nope", err.field)
    end)

    it("unknown operator", function()
      local err = h.error_of(P.search, P, { { "name", "equals", "x" } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("beh.partner", err.model)
      assert.are.equal("name", err.field)
      assert.matches("unknown operator 'equals'", err.message, 1, true)
      err = h.error_of(P.search_count, P, { { "age", "=>", 3 } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("age", err.field)
      assert.matches("unknown operator '=>'", err.message, 1, true)
      -- an operator that does not apply to the field's type
      err = h.error_of(P.search, P, { { "age", "like", 3 } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("age", err.field)
      assert.matches("'like' does not apply to Integer field 'age'", err.message, 1, true)
      err = h.error_of(P.search, P, { { "name", "any", {} } })
      assert.are.equal("EINVAL", err.code)
      assert.matches("relational", err.message, 1, true)
    end)

    it("a domain leaf of the wrong arity, and the nil value", function()
      local err = h.error_of(P.search, P, { { "name", "=" } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("beh.partner", err.model)
      assert.are.equal("name", err.field)
      assert.matches("has 2 elements, expected 3", err.message, 1, true)
      assert.matches("orm.null", err.message, 1, true)
      local nothing
      err = h.error_of(P.search, P, { { "email", "=", nothing } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("email", err.field)
      assert.matches("use orm.null for NULL", err.message, 1, true)
      err = h.error_of(P.search, P, { { "name", "=", "x", "extra" } })
      assert.are.equal("EINVAL", err.code)
      assert.matches("has 4 elements, expected 3", err.message, 1, true)
      err = h.error_of(P.search, P, { { "name" } })
      assert.are.equal("EINVAL", err.code)
      assert.matches("has 1 element, expected 3", err.message, 1, true)
      err = h.error_of(P.search, P, { { 1, "=", "x" } })
      assert.are.equal("EINVAL", err.code)
      assert.matches("the field name must be a string", err.message, 1, true)
      err = h.error_of(P.search, P, { name = "x" })
      assert.are.equal("EINVAL", err.code)
      assert.matches("key 'name'", err.message, 1, true)
      err = h.error_of(P.search, P, "name = 'x'")
      assert.are.equal("EINVAL", err.code)
      assert.matches("a domain must be a list", err.message, 1, true)
    end)

    it("unbalanced prefix operators", function()
      local err = h.error_of(P.search, P, { "|", { "name", "=", "x" } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("beh.partner", err.model)
      assert.matches("unbalanced domain: '|' at position 1 needs 2 operands, found 1", err.message, 1, true)
      err = h.error_of(P.search, P, { "&", "&", { "name", "=", "x" }, { "age", "=", 1 } })
      assert.are.equal("EINVAL", err.code)
      assert.matches("unbalanced domain: '&'", err.message, 1, true)
      err = h.error_of(P.search_count, P, { "!" })
      assert.are.equal("EINVAL", err.code)
      assert.matches("'!' at position 1 needs 1 operand, found 0", err.message, 1, true)
      err = h.error_of(P.search, P, { { "name", "=", "x" }, "|" })
      assert.are.equal("EINVAL", err.code)
      assert.matches("unbalanced domain", err.message, 1, true)
      err = h.error_of(P.search, P, { "^", { "name", "=", "x" } })
      assert.are.equal("EINVAL", err.code)
      assert.matches("'^' is not '&', '|' or '!'", err.message, 1, true)
    end)

    it("a value of the wrong type", function()
      local err = h.error_of(P.create, P, { name = "x", age = "old" })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("age", err.field)
      assert.are.equal("beh.partner", err.model)
      assert.matches("expected an integer", err.message, 1, true)
      err = h.error_of(P.create, P, { name = { "a", "table" } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("name", err.field)
      assert.matches("table", err.message, 1, true)
      err = h.error_of(P.create, P, { name = "x", active = "yes" })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("active", err.field)
      err = h.error_of(P.create, P, { name = "x", age = 1.5 })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("age", err.field)
      err = h.error_of(P.create, P, { name = "x", score = "fast" })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("score", err.field)
      err = h.error_of(P.create, P, { name = "x", parent_id = "not an id" })
      assert.are.equal("parent_id", err.field)
      assert.are.equal(0, P:search_count{})
      -- numeric text is accepted for numbers
      assert.are.equal(42, P:create{ name = "n", age = "42" }.age)
    end)

    it("a value out of range", function()
      local err = h.error_of(P.create, P, { name = "x", age = 151 })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("age", err.field)
      assert.matches("more than the maximum 150", err.message, 1, true)
      err = h.error_of(P.create, P, { name = "x", age = -1 })
      assert.are.equal("EVALIDATE", err.code)
      assert.matches("less than the minimum 0", err.message, 1, true)
    end)

    it("a string too long for its size (characters, not bytes)", function()
      local err = h.error_of(P.create, P, { name = "x", code = "abcdef" })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("code", err.field)
      assert.are.equal("beh.partner", err.model)
      assert.matches("6 characters long, more than size 5", err.message, 1, true)
      assert.are.equal("\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}", P:create{ name = "x", code = "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}" }.code)
      local r = P:create{ name = "y", code = "abc" }
      err = h.error_of(r.write, r, { code = "abcdefgh" })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("code", err.field)
    end)

    it("a required field missing, and one emptied by write", function()
      local err = h.error_of(P.create, P, { age = 3 })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("name", err.field)
      assert.are.equal("beh.partner", err.model)
      assert.matches("required field missing", err.message, 1, true)
      local r = P:create{ name = "x" }
      err = h.error_of(r.write, r, { name = orm.null })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("name", err.field)
      assert.matches("required field cannot be emptied", err.message, 1, true)
      err = h.error_of(function() r.name = false end)
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("name", err.field)
      assert.are.equal("x", r.name)
      env:invalidate()
      assert.are.equal("x", r.name)
    end)

    it("a duplicate unique value is ECONFLICT naming the field", function()
      P:create{ name = "a", email = "same@x.io" }
      local err = h.error_of(P.create, P, { name = "b", email = "same@x.io" })
      assert.are.equal("ECONFLICT", err.code)
      assert.are.equal("email", err.field)
      assert.are.equal("beh.partner", err.model)
      assert.matches("email", err.message, 1, true)
      assert.matches("unique", err.message, 1, true)
      local b = P:create{ name = "b", email = "other@x.io" }
      err = h.error_of(b.write, b, { email = "same@x.io" })
      assert.are.equal("ECONFLICT", err.code)
      assert.are.equal("email", err.field)
      assert.are.equal(2, P:search_count{})
      -- NULLs do not conflict
      P:create{ { name = "c" }, { name = "d" } }
      assert.are.equal(2, P:search_count{ { "email", "=", orm.null } })
    end)

    it("a record of the wrong model, or a recordset as a plain value", function()
      local tag = env["beh.tag"]:create{ name = "t" }
      local err = h.error_of(P.create, P, { name = "x", parent_id = tag })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("parent_id", err.field)
      assert.are.equal("beh.partner", err.model)
      assert.matches("expected a beh.partner record, got a beh.tag record", err.message, 1, true)
      local p = P:create{ name = "p" }
      err = h.error_of(P.create, P, { name = p })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("name", err.field)
      assert.matches("got a beh.partner recordset", err.message, 1, true)
      err = h.error_of(P.create, P, { name = "x", parent_id = p + P:create{ name = "q" } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("parent_id", err.field)
      assert.matches("expected one beh.partner record", err.message, 1, true)
      err = h.error_of(function() p.tag_id = p end)
      assert.are.equal("tag_id", err.field)
      assert.are.equal(2, P:search_count{})
      assert.are.equal(0, #p.tag_id)
    end)

    it("a Many2one to a missing record", function()
      local gone = P:create{ name = "gone" }
      local gone_id = gone.id
      gone:unlink()
      local err = h.error_of(P.create, P, { name = "x", parent_id = gone_id })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("parent_id", err.field)
      assert.are.equal("beh.partner", err.model)
      assert.matches("does not exist", err.message, 1, true)
      local r = P:create{ name = "y" }
      err = h.error_of(r.write, r, { parent_id = gone_id })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("parent_id", err.field)
      assert.are.equal(1, P:search_count{})
    end)

    it("SQL injection payloads are stored and matched literally", function()
      local payloads = {
        "'; DROP TABLE beh_partner; --",
        "x' OR '1'='1",
        "\"; DELETE FROM beh_partner WHERE \"\"=\"",
        "Robert'); DROP TABLE students;--",
        "%' OR 1=1 --",
        "$where: function() { return true }",
        "{\"$gt\": \"\"}",
      }
      for _, p in ipairs(payloads) do P:create{ name = "n", notes = p } end
      P:create{ name = "plain", notes = "harmless" }
      env:invalidate()
      assert.are.equal(#payloads + 1, P:search_count{})
      for _, p in ipairs(payloads) do
        local hit = P:search{ { "notes", "=", p } }
        assert.are.equal(1, #hit)
        assert.are.equal(p, hit.notes)
        local like = P:search{ { "notes", "like", p } }
        assert.are.equal(1, #like)
        assert.are.equal(p, like.notes)
      end
      assert.are.equal(0, P:search_count{ { "notes", "=", "x' OR '1'='1' --" } })
      assert.are.equal(0, P:search_count{ { "name", "=", "' OR 1=1 --" } })
      -- a payload in a field name is refused, not run
      local err = h.error_of(P.search, P, { { "name = name OR 1=1 --", "=", "x" } })
      assert.are.equal("EINVAL", err.code)
      err = h.error_of(P.search, P, {}, { order = "name; DROP TABLE beh_partner" })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("beh.partner", err.model)
      assert.matches("cannot order by", err.message, 1, true)
      -- the table is still there and intact
      assert.are.equal(#payloads + 1, P:search_count{})
      assert.are.equal(1, P:search_count{ { "notes", "=", "harmless" } })
    end)

    it("a failed batch create (the 3rd of 3 invalid) leaves the database as it was", function()
      P:create{ name = "existing" }
      local before = P:search_count{}
      local err = h.error_of(P.create, P, { { name = "one" }, { name = "two" }, { name = "three", age = "x" } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("age", err.field)
      assert.are.equal(before, P:search_count{})
      err = h.error_of(P.create, P, { { name = "one" }, { name = "two" }, { age = 3 } })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("name", err.field)
      assert.are.equal(before, P:search_count{})
      P:create{ name = "u", email = "u@x.io" }
      before = P:search_count{}
      err = h.error_of(P.create, P, { { name = "one" }, { name = "two" }, { name = "three", email = "u@x.io" } })
      assert.are.equal("ECONFLICT", err.code)
      assert.are.equal(before, P:search_count{})
      -- a failing validator on the 3rd record of a batch
      local C = env["beh.checked"]
      err = h.error_of(C.create, C, { { qty = 2 }, { qty = 4 }, { qty = 5 } })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal(0, C:search_count{})
    end)

    it("a failed write leaves the database as it was", function()
      local recs = P:create{ { name = "a", age = 1, email = "a@x.io" }, { name = "b", age = 2 }, { name = "c", age = 3 } }
      local err = h.error_of(recs.write, recs, { age = 10, email = "dup@x.io" })
      assert.are.equal("ECONFLICT", err.code)
      assert.are.equal("email", err.field)
      err = h.error_of(recs.write, recs, { age = 10, code = "too long" })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("code", err.field)
      assert.are.same({ 1, 2, 3 }, recs:mapped("age"))
      env:invalidate()
      assert.are.same({ 1, 2, 3 }, recs:mapped("age"))
      assert.are.equal(0, P:search_count{ { "age", "=", 10 } })
      assert.are.equal(1, P:search_count{ { "email", "=", "a@x.io" } })
    end)

    it("a bad value inside a transaction (or batch) rolls back all of it", function()
      local T = env["beh.tag"]
      local err = h.error_of(function()
        if not h.caps().transactions then
          return T:create{ { name = "ok" }, { color = 3 } } -- name is required
        end
        env:transaction(function(tx)
          tx["beh.tag"]:create{ name = "ok" }
          tx["beh.tag"]:create{ color = 3 } -- name is required
        end)
      end)
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("name", err.field)
      assert.are.equal(0, T:search_count{})
    end)
  end)
end)
