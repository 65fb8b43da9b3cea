-- Relationships (issue 5): Many2one, One2many, Many2many, One2one, x2many
-- commands, relational domains, prefetch without N+1, ondelete rules,
-- relation constraints and link / unlink_rel events.
--
-- Part of the behaviour suite: runs unchanged on every backend
-- ($EARNORM_TEST_DB). Ids are compared as values taken from records
-- (integers on SQL, 24-hex strings on MongoDB), never assumed; no SQL.
-- Query counts are exact where the design fixes them.
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields
local Command = orm.Command

-- ---------------------------------------------------------------------
-- models, declared out of order on purpose: rel.partner names rel.country
-- and rel.tag before they exist, rel.order's One2many comes before its
-- comodel rel.line, rel.dept and rel.emp point at each other.
-- ---------------------------------------------------------------------

local ctl = { log = {} }
local function reset_ctl()
  for k in pairs(ctl) do ctl[k] = nil end
  ctl.log = {}
end

local Partner = orm.model("rel.partner", {
  _order = "name",
  name       = f.Char{ required = true },
  ref        = f.Integer{},
  country_id = f.Many2one{ "rel.country", ondelete = "restrict" },
  parent_id  = f.Many2one{ "rel.partner", ondelete = "set null" },
  child_ids  = f.One2many{ "rel.partner", "parent_id" },
  tag_ids    = f.Many2many{ "rel.tag" },
})

orm.model("rel.tag", {
  _order = "name",
  name        = f.Char{ required = true },
  -- the other side of rel.partner.tag_ids: the same default junction
  partner_ids = f.Many2many{ "rel.partner" },
  -- the default junction named explicitly: both model names (as tables),
  -- in sorted order, then "_rel"; columns <table>_id
  fan_ids     = f.Many2many{ "rel.partner", relation = "rel_partner_rel_tag_rel",
                             column1 = "rel_tag_id", column2 = "rel_partner_id" },
})

orm.model("rel.country", {
  _order = "code",
  name = f.Char{},
  code = f.Char{ size = 2 },
})

orm.model("rel.order", {
  _order = "name",
  name       = f.Char{ required = true },
  partner_id = f.Many2one{ "rel.partner", required = true, ondelete = "cascade" },
  line_ids   = f.One2many{ "rel.line", "order_id" },
})

orm.model("rel.line", {
  _order = "seq",
  name     = f.Char{},
  seq      = f.Integer{},
  order_id = f.Many2one{ "rel.order", required = true, ondelete = "cascade" },
})

-- a cycle between two models
orm.model("rel.dept", {
  _order = "name",
  name       = f.Char{},
  manager_id = f.Many2one{ "rel.emp", ondelete = "set null" },
  emp_ids    = f.One2many{ "rel.emp", "dept_id" },
})
orm.model("rel.emp", {
  _order = "name",
  name    = f.Char{},
  dept_id = f.Many2one{ "rel.dept", ondelete = "set null" },
})

-- Many2many with an explicit junction, declared on both sides
orm.model("rel.course", {
  _order = "name",
  name        = f.Char{},
  student_ids = f.Many2many{ "rel.student", relation = "rel_enrolment",
                             column1 = "course_id", column2 = "student_id" },
})
orm.model("rel.student", {
  _order = "name",
  name       = f.Char{},
  course_ids = f.Many2many{ "rel.course", relation = "rel_enrolment",
                            column1 = "student_id", column2 = "course_id" },
})

-- One2one: a unique Many2one and its inverse
orm.model("rel.person", {
  name        = f.Char{},
  passport_id = f.One2one{ "rel.passport", inverse = "person_id" },
})
orm.model("rel.passport", {
  number    = f.Char{},
  person_id = f.One2one{ "rel.person", ondelete = "cascade" },
})

-- a deep tree for cascades, and something that refuses to let a node go
orm.model("rel.node", {
  _order = "depth",
  depth     = f.Integer{},
  parent_id = f.Many2one{ "rel.node", ondelete = "cascade" },
  child_ids = f.One2many{ "rel.node", "parent_id" },
})
orm.model("rel.pin", {
  name    = f.Char{},
  node_id = f.Many2one{ "rel.node", ondelete = "restrict" },
})

-- many records pointing at partners (N+1 tests)
orm.model("rel.item", {
  _order = "seq",
  seq        = f.Integer{},
  partner_id = f.Many2one{ "rel.partner" },
})

-- relationship events on rel.partner
local function ids_of(recs)
  local out = recs.ids
  table.sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end
local function sorted_ids(list)
  local out = {}
  for i, x in ipairs(list) do out[i] = x end
  table.sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end
Partner:on("link", function(rec, field, recs)
  ctl.log[#ctl.log + 1] = { "link", rec.id, field, recs._name, ids_of(recs) }
  if ctl.fail_link then error("refused by the link handler") end
end)
Partner:on("unlink_rel", function(rec, field, recs)
  ctl.log[#ctl.log + 1] = { "unlink_rel", rec.id, field, recs._name, ids_of(recs) }
  if ctl.fail_unlink_rel then error("refused by the unlink_rel handler") end
end)

-- ---------------------------------------------------------------------
-- helpers
-- ---------------------------------------------------------------------

local function names(recs) return recs:mapped("name") end

-- The number of queries fn issues.
local function count_queries(env, fn)
  env:reset_stats()
  fn()
  return env:stats().queries
end

-- An id that no record has: the id of a record created then deleted.
local function gone_id(model, vals)
  local r = model:create(vals)
  local id = r.id
  r:unlink()
  return id
end

-- Servers keep data between tests: empty the tables in an order the
-- restrict rules accept (fresh_env alone deletes models in any order).
local WIPE = { "rel.pin", "rel.item", "rel.line", "rel.order", "rel.passport", "rel.person",
               "rel.emp", "rel.dept", "rel.student", "rel.course", "rel.partner", "rel.tag",
               "rel.country", "rel.node" }
local function wipe(env)
  for _, name in ipairs(WIPE) do env[name]:search{}:unlink() end
end

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Run a Lua script in a fresh interpreter (its own model registry): for
-- declarations that must fail, which would spoil this process's registry.
local function run_script(src)
  local path = os.tmpname()
  local fh = assert(io.open(path, "w"))
  fh:write('local orm = require "earnorm"\nlocal f = orm.fields\n', src)
  fh:close()
  local out, code = h.run("--db " .. sh_quote(h.url) .. " " .. sh_quote(path))
  os.remove(path)
  return out, code
end

-- The script prints "ERR|code|model|field|message" for the error fn raises.
local REPORT = [[
local function report(fn)
  local ok, e = pcall(fn)
  if ok then print("OK") return end
  if type(e) ~= "table" then print("ERR|lua|||" .. tostring(e)) return end
  print(string.format("ERR|%s|%s|%s|%s", e.code, e.model or "", e.field or "", e.message))
end
]]

local function parse_report(out)
  local code, model, field, msg = out:match("ERR|([^|]*)|([^|]*)|([^|]*)|([^\n]*)")
  return { code = code, model = model, field = field, message = msg, raw = out }
end

describe("relations on " .. h.backend, function()
  local env, P, T, C
  before_each(function()
    reset_ctl()
    if not h.url:match("^sqlite:") then
      local e = orm.connect(h.url)
      e:migrate()
      wipe(e)
      e:close()
    end
    env = h.fresh_env()
    P, T, C = env["rel.partner"], env["rel.tag"], env["rel.country"]
  end)
  after_each(function()
    reset_ctl()
    if env then env:close() end
  end)

  -- -------------------------------------------------------------------
  describe("declarations", function()
    it("a Many2one reads as a recordset of its comodel, empty when unset", function()
      local fr = C:create{ name = "France", code = "FR" }
      local ann = P:create{ name = "Ann", country_id = fr }
      local bob = P:create{ name = "Bob" }
      env:invalidate()
      assert.is_true(orm.is_recordset(ann.country_id))
      assert.are.equal("rel.country", ann.country_id._name)
      assert.are.equal(1, #ann.country_id)
      assert.are.equal(fr.id, ann.country_id.id)
      assert.are.equal("FR", ann.country_id.code)
      assert.is_true(orm.is_recordset(bob.country_id))
      assert.are.equal("rel.country", bob.country_id._name)
      assert.are.equal(0, #bob.country_id)
      assert.is_nil(bob.country_id.code)
    end)

    it("a One2many reads its inverse's records in the comodel's order", function()
      local mom = P:create{ name = "Mom" }
      local kids = P:create{ { name = "Zoe", parent_id = mom.id }, { name = "Al", parent_id = mom.id },
                             { name = "Max", parent_id = mom.id } }
      local other = P:create{ name = "Other" }
      P:create{ name = "Not mine", parent_id = other.id }
      env:invalidate()
      local got = mom.child_ids
      assert.is_true(orm.is_recordset(got))
      assert.are.equal("rel.partner", got._name)
      assert.are.same({ "Al", "Max", "Zoe" }, names(got))
      assert.are.same(ids_of(kids), ids_of(got))
      for kid in got:each() do assert.are.equal(mom, kid.parent_id) end
      local lonely = P:create{ name = "Lonely" }
      assert.are.equal(0, #lonely.child_ids)
      assert.are.equal("rel.partner", lonely.child_ids._name)
      -- a One2many declared before its comodel (rel.order -> rel.line)
      local o = env["rel.order"]:create{ name = "SO1", partner_id = mom.id }
      env["rel.line"]:create{ { name = "b", seq = 2, order_id = o.id }, { name = "a", seq = 1, order_id = o.id } }
      env:invalidate()
      assert.are.same({ "a", "b" }, names(o.line_ids))
      assert.are.equal("rel.line", o.line_ids._name)
    end)

    it("a Many2many reads in the comodel's order; both sides share the default junction", function()
      local vip, b2b, eu = T:create{ name = "vip" }, T:create{ name = "b2b" }, T:create{ name = "eu" }
      local ann = P:create{ name = "Ann", tag_ids = { vip.id, eu.id, b2b.id } }
      local bob = P:create{ name = "Bob" }
      env:invalidate()
      assert.are.equal("rel.tag", ann.tag_ids._name)
      assert.are.same({ "b2b", "eu", "vip" }, names(ann.tag_ids))
      assert.are.equal(0, #bob.tag_ids)
      -- the other side sees the links...
      assert.are.same({ ann.id }, vip.partner_ids.ids)
      -- ...and links made there show here
      vip:write{ partner_ids = { Command.link(bob) } }
      env:invalidate()
      assert.are.same({ "vip" }, names(bob.tag_ids))
      assert.are.same({ "Ann", "Bob" }, names(vip.partner_ids))
      -- the junction name and columns follow the fixed rule
      assert.are.same({ "Ann", "Bob" }, names(vip.fan_ids))
      assert.are.same({ "Ann" }, names(eu.fan_ids))
    end)

    it("a Many2many with an explicit relation and columns is shared by both sides", function()
      local Co, St = env["rel.course"], env["rel.student"]
      local math_, art = Co:create{ name = "math" }, Co:create{ name = "art" }
      local sue = St:create{ name = "Sue", course_ids = { math_.id, art.id } }
      local tom = St:create{ name = "Tom" }
      math_:write{ student_ids = { Command.link(tom) } }
      env:invalidate()
      assert.are.same({ "art", "math" }, names(sue.course_ids))
      assert.are.same({ "math" }, names(tom.course_ids))
      assert.are.same({ "Sue", "Tom" }, names(math_.student_ids))
      assert.are.same({ "Sue" }, names(art.student_ids))
      art:write{ student_ids = { Command.unlink(sue) } }
      env:invalidate()
      assert.are.same({ "math" }, names(sue.course_ids))
    end)

    it("One2one: a unique Many2one whose inverse reads at most one record", function()
      local Pe, Pa = env["rel.person"], env["rel.passport"]
      local ann, bob = Pe:create{ name = "Ann" }, Pe:create{ name = "Bob" }
      local pp = Pa:create{ number = "X1", person_id = ann.id }
      env:invalidate()
      assert.is_true(orm.is_recordset(ann.passport_id))
      assert.are.equal("rel.passport", ann.passport_id._name)
      assert.are.equal(1, #ann.passport_id)
      assert.are.equal(pp, ann.passport_id)
      assert.are.equal("X1", ann.passport_id.number)
      assert.are.equal(0, #bob.passport_id)
      assert.are.equal(ann, pp.person_id)
      -- a second passport for the same person is refused
      local err = h.error_of(Pa.create, Pa, { number = "X2", person_id = ann.id })
      assert.are.equal("ECONFLICT", err.code)
      assert.are.equal("person_id", err.field)
      assert.are.equal(1, Pa:search_count{})
      -- read / search_read give the inverse as a list of at most one id
      assert.are.same({ pp.id }, ann:read{ "passport_id" }[1].passport_id)
      -- the inverse is written through commands like a One2many
      local pp2 = Pa:create{ number = "Y1" }
      bob:write{ passport_id = { Command.link(pp2) } }
      env:invalidate()
      assert.are.equal(pp2, bob.passport_id)
      assert.are.equal(bob, pp2.person_id)
      -- cascade: the passport goes with its person
      ann:unlink()
      assert.are.equal(0, #Pa:search{ { "id", "=", pp.id } })
    end)

    it("models refer to each other in any order: cycles and self-references", function()
      local D, E = env["rel.dept"], env["rel.emp"]
      local rd = D:create{ name = "R&D" }
      local eve = E:create{ name = "Eve", dept_id = rd.id }
      local al = E:create{ name = "Al", dept_id = rd.id }
      rd:write{ manager_id = eve }
      env:invalidate()
      assert.are.equal(eve, rd.manager_id)
      assert.are.equal(rd, rd.manager_id.dept_id)
      assert.are.same({ "Al", "Eve" }, names(rd.emp_ids))
      assert.are.equal("Eve", al.dept_id.manager_id.name)
      -- set null both ways
      eve:unlink()
      env:invalidate()
      assert.are.equal(0, #rd.manager_id)
      assert.are.same({ "Al" }, names(rd.emp_ids))
      rd:unlink()
      env:invalidate()
      assert.are.equal(0, #al.dept_id)
      -- a self-reference: parent and children
      local root = P:create{ name = "root" }
      local kid = P:create{ name = "kid", parent_id = root.id }
      local grandkid = P:create{ name = "grandkid", parent_id = kid.id }
      env:invalidate()
      assert.are.equal(root, grandkid.parent_id.parent_id)
      assert.are.equal(grandkid, root.child_ids.child_ids)
      assert.are.equal(0, #root.parent_id)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("declaration errors", function()
    it("a Many2one to a model that never appears names both models (migrate and first use)", function()
      local out, code = run_script(REPORT .. [[
orm.model("rel.lost", { name = f.Char{}, owner_id = f.Many2one{ "rel.nowhere" } })
report(function() return env:migrate() end)
report(function() return env["rel.lost"]:search{} end)
]])
      assert.are.equal(0, code, out)
      local first, second = out:match("(ERR[^\n]*)\n(ERR[^\n]*)")
      assert.is_not_nil(first, out)
      for _, line in ipairs({ first, second }) do
        local e = parse_report(line)
        assert.are.equal("ENOTFOUND", e.code, line)
        assert.are.equal("rel.lost", e.model, line)
        assert.are.equal("owner_id", e.field, line)
        assert.matches("rel.lost.owner_id", e.message, 1, true)
        assert.matches("rel.nowhere", e.message, 1, true)
        assert.matches("not defined", e.message, 1, true)
      end
    end)

    it("a One2many or Many2many to a model that never appears names both models", function()
      local out, code = run_script(REPORT .. [[
orm.model("rel.lost", { name = f.Char{}, thing_ids = f.Many2many{ "rel.nothing" } })
report(function() return env:migrate() end)
]])
      assert.are.equal(0, code, out)
      local e = parse_report(out)
      assert.are.equal("ENOTFOUND", e.code, out)
      assert.are.equal("thing_ids", e.field, out)
      assert.matches("rel.lost.thing_ids", e.message, 1, true)
      assert.matches("rel.nothing", e.message, 1, true)
      out, code = run_script(REPORT .. [[
orm.model("rel.lost", { name = f.Char{}, kid_ids = f.One2many{ "rel.nothing", "lost_id" } })
report(function() return env:migrate() end)
]])
      assert.are.equal(0, code, out)
      e = parse_report(out)
      assert.are.equal("ENOTFOUND", e.code, out)
      assert.are.equal("kid_ids", e.field, out)
      assert.matches("rel.lost.kid_ids", e.message, 1, true)
      assert.matches("rel.nothing", e.message, 1, true)
    end)

    it("a One2many whose inverse is missing or points elsewhere fails at declaration", function()
      local out, code = run_script(REPORT .. [[
orm.model("rel.a", { name = f.Char{} })
orm.model("rel.b", { name = f.Char{}, a_id = f.Many2one{ "rel.a" } })
-- missing inverse, comodel already declared
report(function() orm.model("rel.c", { x_ids = f.One2many{ "rel.a", "c_id" } }) end)
-- an inverse that is not a Many2one
report(function() orm.model("rel.d", { x_ids = f.One2many{ "rel.a", "name" } }) end)
-- an inverse Many2one to another model
report(function() orm.model("rel.e", { x_ids = f.One2many{ "rel.b", "a_id" } }) end)
-- on itself: the inverse must be declared with it
report(function() orm.model("rel.g", { kid_ids = f.One2many{ "rel.g", "parent_id" } }) end)
-- nothing of the failed declarations was registered
print(orm.models["rel.c"] == nil and orm.models["rel.e"] == nil and orm.models["rel.g"] == nil)
-- a good one-to-many on itself, and one to an existing model
report(function()
  orm.model("rel.h", { parent_id = f.Many2one{ "rel.h" }, kid_ids = f.One2many{ "rel.h", "parent_id" } })
  orm.model("rel.a", { _inherit = "rel.a", b_ids = f.One2many{ "rel.b", "a_id" } })
  env:migrate{ dry_run = true } -- resolves the registry, creates nothing
end)
]])
      assert.are.equal(0, code, out)
      local lines = {}
      for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
      assert.are.equal(6, #lines, out)
      local expect = {
        { "rel.c", "x_ids", "rel.c.x_ids: inverse field rel.a.c_id must be a Many2one to rel.c" },
        { "rel.d", "x_ids", "rel.d.x_ids: inverse field rel.a.name must be a Many2one to rel.d" },
        { "rel.e", "x_ids", "rel.e.x_ids: inverse field rel.b.a_id must be a Many2one to rel.e" },
        { "rel.g", "kid_ids", "rel.g.kid_ids: inverse field rel.g.parent_id must be a Many2one to rel.g" },
      }
      for i, x in ipairs(expect) do
        local e = parse_report(lines[i])
        assert.are.equal("ENOTFOUND", e.code, lines[i])
        assert.are.equal(x[1], e.model, lines[i])
        assert.are.equal(x[2], e.field, lines[i])
        assert.are.equal(x[3], e.message, lines[i])
      end
      assert.are.equal("true", lines[5])
      assert.are.equal("OK", lines[6])
    end)

    it("a One2many declared before its comodel is checked when the registry is complete", function()
      local out, code = run_script(REPORT .. [[
orm.model("rel.box", { name = f.Char{}, toy_ids = f.One2many{ "rel.toy", "box_id" } })
orm.model("rel.toy", { name = f.Char{}, owner_id = f.Many2one{ "rel.box" } })
report(function() return env:migrate() end)
report(function() return env["rel.box"]:search{} end)
]])
      assert.are.equal(0, code, out)
      local n = 0
      for line in out:gmatch("ERR[^\n]*") do
        n = n + 1
        local e = parse_report(line)
        assert.are.equal("ENOTFOUND", e.code, line)
        assert.are.equal("rel.box", e.model, line)
        assert.are.equal("toy_ids", e.field, line)
        assert.are.equal("rel.box.toy_ids: inverse field rel.toy.box_id must be a Many2one to rel.box",
                         e.message)
      end
      assert.are.equal(2, n, out)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("assigning relations", function()
    it("a Many2one takes a record, an id, a recordset of one, orm.null or an empty recordset", function()
      local fr, de = C:create{ name = "France", code = "FR" }, C:create{ name = "Germany", code = "DE" }
      local a = P:create{ name = "a", country_id = fr }
      local b = P:create{ name = "b", country_id = de.id }
      local c = P:create{ name = "c", country_id = C:search{ { "code", "=", "DE" } } }
      local d = P:create{ name = "d", country_id = orm.null }
      env:invalidate()
      assert.are.equal(fr, a.country_id)
      assert.are.equal(de, b.country_id)
      assert.are.equal(de, c.country_id)
      assert.are.equal(0, #d.country_id)
      a:write{ country_id = de.id }
      b:write{ country_id = fr }
      c:write{ country_id = C:browse({}) }
      d.country_id = fr -- assignment is a write
      env:invalidate()
      assert.are.equal(de, a.country_id)
      assert.are.equal(fr, b.country_id)
      assert.are.equal(0, #c.country_id)
      assert.are.equal(fr, d.country_id)
      assert.are.same({ "b", "d" }, names(P:search{ { "country_id", "=", fr.id } }))
      -- several records are not one
      local err = h.error_of(a.write, a, { country_id = C:search{} })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("country_id", err.field)
      assert.matches("got 2", err.message, 1, true)
      env:invalidate()
      assert.are.equal(de, a.country_id)
    end)

    it("x2many in create: a list of ids, a recordset, a record, commands and raw tuples", function()
      local t1, t2, t3 = T:create{ name = "t1" }, T:create{ name = "t2" }, T:create{ name = "t3" }
      local kid = P:create{ name = "kid" }
      local a = P:create{ name = "a", tag_ids = { t1.id, t3.id } }
      local b = P:create{ name = "b", tag_ids = T:search{ { "name", "in", { "t2", "t3" } } } }
      local c = P:create{ name = "c", tag_ids = t2 }
      local d = P:create{ name = "d", tag_ids = { Command.link(t1), Command.create{ name = "t4" } },
                          child_ids = { Command.create{ name = "d-kid" }, Command.link(kid) } }
      local e = P:create{ name = "e", tag_ids = { { 6, 0, { t2.id, t3.id } } },
                          child_ids = { { 0, 0, { name = "e-kid" } } } }
      local g = P:create{ name = "g", tag_ids = { t1, t2 } }
      env:invalidate()
      assert.are.same({ "t1", "t3" }, names(a.tag_ids))
      assert.are.same({ "t2", "t3" }, names(b.tag_ids))
      assert.are.same({ "t2" }, names(c.tag_ids))
      assert.are.same({ "t1", "t4" }, names(d.tag_ids))
      assert.are.same({ "d-kid", "kid" }, names(d.child_ids))
      assert.are.equal(d, kid.parent_id)
      assert.are.same({ "t2", "t3" }, names(e.tag_ids))
      assert.are.same({ "e-kid" }, names(e.child_ids))
      assert.are.same({ "t1", "t2" }, names(g.tag_ids))
      assert.are.equal(4, T:search_count{})
      -- a batch of several records, each with its own commands
      local batch = P:create{ { name = "x", tag_ids = { t1.id } },
                              { name = "y", child_ids = { Command.create{ name = "y-kid" } } } }
      env:invalidate()
      assert.are.same({ "t1" }, names(batch[1].tag_ids))
      assert.are.same({ "y-kid" }, names(batch[2].child_ids))
      assert.are.equal(batch[2], P:search{ { "name", "=", "y-kid" } }.parent_id)
    end)

    it("Many2many commands in write: create, update, delete, unlink, link, clear, set", function()
      local t1, t2, t3 = T:create{ name = "t1" }, T:create{ name = "t2" }, T:create{ name = "t3" }
      local a = P:create{ name = "a", tag_ids = { t1.id } }
      local other = P:create{ name = "other", tag_ids = { t1.id, t2.id } }
      a:write{ tag_ids = { Command.create{ name = "new" } } }
      env:invalidate()
      assert.are.same({ "new", "t1" }, names(a.tag_ids))
      local new = T:search{ { "name", "=", "new" } }
      assert.are.equal(1, #new)
      a:write{ tag_ids = { Command.update(new, { name = "renamed" }) } }
      env:invalidate()
      assert.are.equal("renamed", new.name)
      a:write{ tag_ids = { Command.link(t2), Command.link(t3), Command.link(t2) } }
      env:invalidate()
      assert.are.same({ "renamed", "t1", "t2", "t3" }, names(a.tag_ids))
      -- unlink removes the link only
      a:write{ tag_ids = { Command.unlink(t3) } }
      env:invalidate()
      assert.are.same({ "renamed", "t1", "t2" }, names(a.tag_ids))
      assert.are.equal(1, #t3:exists())
      -- delete removes the record, so its links everywhere
      a:write{ tag_ids = { Command.delete(t2) } }
      env:invalidate()
      assert.are.equal(0, #t2:exists())
      assert.are.same({ "renamed", "t1" }, names(a.tag_ids))
      assert.are.same({ "t1" }, names(other.tag_ids))
      -- set: exactly these
      a:write{ tag_ids = { Command.set{ t3.id, t1.id } } }
      env:invalidate()
      assert.are.same({ "t1", "t3" }, names(a.tag_ids))
      assert.are.equal(1, #new:exists())
      a:write{ tag_ids = { Command.set(T:search{ { "name", "=", "renamed" } }) } }
      env:invalidate()
      assert.are.same({ "renamed" }, names(a.tag_ids))
      -- clear
      a:write{ tag_ids = { Command.clear() } }
      env:invalidate()
      assert.are.equal(0, #a.tag_ids)
      assert.are.same({ "t1" }, names(other.tag_ids))
      -- several commands in one write, applied in order
      a:write{ tag_ids = { Command.link(t1), Command.link(t3), Command.unlink(t1),
                           Command.create{ name = "t9" } } }
      env:invalidate()
      assert.are.same({ "t3", "t9" }, names(a.tag_ids))
      -- raw tuples
      a:write{ tag_ids = { { 5, 0, 0 }, { 4, t1.id, 0 }, { 1, t1.id, { name = "t1!" } } } }
      env:invalidate()
      assert.are.same({ "t1!" }, names(a.tag_ids))
      a:write{ tag_ids = { { 3, t1.id, 0 }, { 6, 0, { t3.id } } } }
      env:invalidate()
      assert.are.same({ "t3" }, names(a.tag_ids))
      a:write{ tag_ids = { { 2, t3.id, 0 } } }
      env:invalidate()
      assert.are.equal(0, #a.tag_ids)
      assert.are.equal(0, #t3:exists())
    end)

    it("One2many commands in write: create, update, delete, unlink, link, clear, set", function()
      local mom, dad = P:create{ name = "mom" }, P:create{ name = "dad" }
      local k1 = P:create{ name = "k1", parent_id = mom.id }
      local k2 = P:create{ name = "k2", parent_id = dad.id }
      local k3 = P:create{ name = "k3" }
      mom:write{ child_ids = { Command.create{ name = "k0", ref = 7 } } }
      env:invalidate()
      assert.are.same({ "k0", "k1" }, names(mom.child_ids))
      local k0 = P:search{ { "name", "=", "k0" } }
      assert.are.equal(mom, k0.parent_id)
      assert.are.equal(7, k0.ref)
      mom:write{ child_ids = { Command.update(k0, { ref = 8 }) } }
      env:invalidate()
      assert.are.equal(8, k0.ref)
      -- link moves a child from its other parent
      mom:write{ child_ids = { Command.link(k2) } }
      env:invalidate()
      assert.are.same({ "k0", "k1", "k2" }, names(mom.child_ids))
      assert.are.equal(0, #dad.child_ids)
      -- unlink with an optional inverse: the child stays, orphaned
      mom:write{ child_ids = { Command.unlink(k1) } }
      env:invalidate()
      assert.are.same({ "k0", "k2" }, names(mom.child_ids))
      assert.are.equal(1, #k1:exists())
      assert.are.equal(0, #k1.parent_id)
      -- delete
      mom:write{ child_ids = { Command.delete(k0) } }
      env:invalidate()
      assert.are.equal(0, #k0:exists())
      assert.are.same({ "k2" }, names(mom.child_ids))
      -- set
      mom:write{ child_ids = { Command.set{ k1.id, k3.id } } }
      env:invalidate()
      assert.are.same({ "k1", "k3" }, names(mom.child_ids))
      assert.are.equal(0, #k2.parent_id)
      assert.are.equal(1, #k2:exists())
      -- a recordset or a list of ids is set
      mom.child_ids = P:browse{ k2.id }
      env:invalidate()
      assert.are.same({ "k2" }, names(mom.child_ids))
      mom:write{ child_ids = { k1.id, k2.id } }
      env:invalidate()
      assert.are.same({ "k1", "k2" }, names(mom.child_ids))
      -- clear, orm.null and {} empty it
      mom:write{ child_ids = { Command.clear() } }
      env:invalidate()
      assert.are.equal(0, #mom.child_ids)
      assert.are.equal(5, P:search_count{})
      mom:write{ child_ids = { k3.id } }
      mom:write{ child_ids = orm.null }
      env:invalidate()
      assert.are.equal(0, #mom.child_ids)
      mom:write{ child_ids = { k3.id } }
      mom:write{ child_ids = {} }
      env:invalidate()
      assert.are.equal(0, #mom.child_ids)
      assert.are.equal(0, #k3.parent_id)
    end)

    it("unlinking from a One2many whose inverse is required deletes the child", function()
      local O, L = env["rel.order"], env["rel.line"]
      local cust = P:create{ name = "cust" }
      local o = O:create{ name = "SO1", partner_id = cust.id,
                          line_ids = { Command.create{ name = "l1", seq = 1 },
                                       Command.create{ name = "l2", seq = 2 },
                                       Command.create{ name = "l3", seq = 3 } } }
      env:invalidate()
      assert.are.same({ "l1", "l2", "l3" }, names(o.line_ids))
      local l1 = L:search{ { "name", "=", "l1" } }
      o:write{ line_ids = { Command.unlink(l1) } }
      env:invalidate()
      assert.are.equal(0, #l1:exists())
      assert.are.same({ "l2", "l3" }, names(o.line_ids))
      o:write{ line_ids = { Command.clear() } }
      env:invalidate()
      assert.are.equal(0, #o.line_ids)
      assert.are.equal(0, L:search_count{})
    end)

    it("commands apply to each record of a write on several records", function()
      local t1, t2 = T:create{ name = "t1" }, T:create{ name = "t2" }
      local a, b = P:create{ name = "a" }, P:create{ name = "b", tag_ids = { t2.id } }
      local both = a + b
      both:write{ tag_ids = { Command.link(t1) } }
      env:invalidate()
      assert.are.same({ "t1" }, names(a.tag_ids))
      assert.are.same({ "t1", "t2" }, names(b.tag_ids))
      assert.are.same({ "a", "b" }, names(t1.partner_ids))
      both:write{ tag_ids = { t2.id } }
      env:invalidate()
      assert.are.same({ "t2" }, names(a.tag_ids))
      assert.are.same({ "t2" }, names(b.tag_ids))
      -- a One2many create makes one child per record
      both:write{ ref = 5, child_ids = { Command.create{ name = "kid" } } }
      env:invalidate()
      assert.are.equal(2, P:search_count{ { "name", "=", "kid" } })
      assert.are.same({ "kid" }, names(a.child_ids))
      assert.are.same({ "kid" }, names(b.child_ids))
      assert.are_not.equal(a.child_ids, b.child_ids)
      assert.are.same({ 5, 5 }, both:mapped("ref"))
      both:write{ tag_ids = orm.null }
      env:invalidate()
      assert.are.equal(0, #a.tag_ids + #b.tag_ids)
    end)

    it("refuses a value that is not records, ids or commands", function()
      local a = P:create{ name = "a" }
      local err = h.error_of(a.write, a, { tag_ids = 42 })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("tag_ids", err.field)
      assert.matches("expected records, a list of ids or commands", err.message, 1, true)
      err = h.error_of(a.write, a, { tag_ids = { { 9, 0, 0 } } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("tag_ids", err.field)
      assert.matches("not a command", err.message, 1, true)
      err = h.error_of(a.write, a, { tag_ids = { { 4, T:create{ name = "x" } + T:create{ name = "y" }, 0 } } })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("tag_ids", err.field)
      assert.matches("a command takes one record", err.message, 1, true)
      env:invalidate()
      assert.are.equal(0, #a.tag_ids)
    end)

    it("read and search_read give x2many values as lists of ids, Many2one as an id", function()
      local t1, t2 = T:create{ name = "t1" }, T:create{ name = "t2" }
      local mom = P:create{ name = "mom", tag_ids = { t2.id, t1.id } }
      local kid = P:create{ name = "kid", parent_id = mom.id }
      env:invalidate()
      local rows = P:search_read({ { "id", "=", mom.id } }, { fields = { "name", "tag_ids", "child_ids" } })
      assert.are.equal(1, #rows)
      assert.are.same({ id = mom.id, name = "mom", tag_ids = { t1.id, t2.id }, child_ids = { kid.id } },
                      rows[1])
      rows = P:search_read({ { "id", "=", kid.id } }, { fields = { "parent_id", "tag_ids", "child_ids" } })
      assert.are.same({ id = kid.id, parent_id = mom.id, tag_ids = {}, child_ids = {} }, rows[1])
      rows = (mom + kid):read{ "tag_ids", "parent_id" }
      assert.are.same({ t1.id, t2.id }, rows[1].tag_ids)
      assert.is_nil(rows[1].parent_id)
      assert.are.same({}, rows[2].tag_ids)
      assert.are.equal(mom.id, rows[2].parent_id)
      -- all fields, without a list
      env:invalidate()
      rows = P:search_read{ { "id", "=", mom.id } }
      assert.are.same({ t1.id, t2.id }, rows[1].tag_ids)
      assert.are.same({ kid.id }, rows[1].child_ids)
      assert.are.equal("mom", rows[1].name)
      assert.are.same(rows[1], mom:read()[1])
    end)
  end)

  -- -------------------------------------------------------------------
  describe("relational domains", function()
    local fr, de, vip, b2b, eu, mom, dad, k1, k2, k3, solo
    before_each(function()
      fr, de = C:create{ name = "France", code = "FR" }, C:create{ name = "Germany", code = "DE" }
      vip, b2b, eu = T:create{ name = "vip" }, T:create{ name = "b2b" }, T:create{ name = "eu" }
      mom = P:create{ name = "mom", country_id = fr.id, tag_ids = { vip.id, eu.id } }
      dad = P:create{ name = "dad", country_id = de.id, tag_ids = { b2b.id } }
      k1 = P:create{ name = "k1", parent_id = mom.id, ref = 1, tag_ids = { eu.id } }
      k2 = P:create{ name = "k2", parent_id = mom.id, ref = 9 }
      k3 = P:create{ name = "k3", parent_id = dad.id, ref = 3 }
      solo = P:create{ name = "solo" }
      env:invalidate()
    end)

    it("follows dotted paths through Many2one fields", function()
      assert.are.same({ "k1", "k2" }, names(P:search{ { "parent_id.name", "=", "mom" } }))
      assert.are.same({ "k1", "k2" }, names(P:search{ { "parent_id.country_id.code", "=", "FR" } }))
      assert.are.same({ "k3" }, names(P:search{ { "parent_id.country_id.name", "ilike", "germ" } }))
      assert.are.same({ "dad", "mom" }, names(P:search{ { "country_id.code", "in", { "FR", "DE" } } }))
      assert.are.equal(0, P:search_count{ { "parent_id.country_id.code", "=", "IT" } })
    end)

    it("follows dotted paths through One2many and Many2many fields", function()
      assert.are.same({ "mom" }, names(P:search{ { "child_ids.name", "=", "k2" } }))
      assert.are.same({ "dad", "mom" }, names(P:search{ { "child_ids.ref", "<", 5 } }))
      assert.are.same({ "mom" }, names(P:search{ { "tag_ids.name", "ilike", "VI" } }))
      assert.are.same({ "k1", "mom" }, names(P:search{ { "tag_ids.name", "=", "eu" } }))
      assert.are.same({ "dad", "mom" }, names(P:search{ "|", { "child_ids.tag_ids.name", "=", "eu" },
                                                      { "tag_ids.name", "=", "b2b" } }))
      -- from the other side of the junction
      assert.are.same({ "eu", "vip" }, names(T:search{ { "partner_ids.name", "=", "mom" } }))
      assert.are.same({ "eu" }, names(T:search{ { "partner_ids.parent_id.name", "=", "mom" } }))
    end)

    it("any and not any on One2many and Many2many", function()
      assert.are.same({ "mom" }, names(P:search{ { "child_ids", "any", { { "ref", ">", 5 } } } }))
      assert.are.same({ "dad", "mom" }, names(P:search{ { "child_ids", "any", {} } }))
      assert.are.same({ "dad", "k1", "k2", "k3", "solo" },
                      names(P:search{ { "child_ids", "not any", { { "ref", ">", 5 } } } }))
      assert.are.same({ "k1", "mom" }, names(P:search{ { "tag_ids", "any", { { "name", "in", { "eu", "vip" } } } } }))
      assert.are.same({ "dad", "k2", "k3", "solo" },
                      names(P:search{ { "tag_ids", "not any", { { "name", "=", "eu" } } } }))
      assert.are.same({ "dad" }, names(P:search{ { "child_ids", "any", { { "name", "=", "k3" } } },
                                                 { "tag_ids", "any", { { "name", "=", "b2b" } } } }))
    end)

    it("= / != / in on x2many mean contains; = orm.null means empty", function()
      assert.are.same({ "k1", "mom" }, names(P:search{ { "tag_ids", "=", eu.id } }))
      assert.are.same({ "dad", "mom" }, names(P:search{ { "tag_ids", "in", { vip.id, b2b.id } } }))
      assert.are.same({ "dad", "k2", "k3", "solo" }, names(P:search{ { "tag_ids", "!=", eu.id } }))
      assert.are.same({ "mom" }, names(P:search{ { "child_ids", "=", k2.id } }))
      assert.are.same({ "k1", "k2", "k3", "solo" }, names(P:search{ { "child_ids", "=", orm.null } }))
      assert.are.same({ "dad", "mom" }, names(P:search{ { "child_ids", "!=", orm.null } }))
      assert.are.same({ "k2", "k3", "solo" }, names(P:search{ { "tag_ids", "=", orm.null } }))
      assert.are.same({ "dad", "k1", "mom" }, names(P:search{ { "tag_ids", "!=", orm.null } }))
      assert.are.equal(1, P:search_count{ { "child_ids", "=", orm.null }, { "tag_ids", "=", orm.null },
                                          { "parent_id", "=", orm.null } })
      assert.are.same({ "solo" }, names(P:search{ { "child_ids", "=", orm.null }, { "tag_ids", "=", orm.null },
                                                  { "parent_id", "=", orm.null } }))
    end)

    it("child_of and parent_of on a hierarchy", function()
      local g = P:create{ name = "g", parent_id = k1.id }
      assert.are.same({ "g", "k1", "k2", "mom" }, names(P:search{ { "id", "child_of", mom.id } }))
      assert.are.same({ "g", "k1", "k2", "k3", "mom" },
                      names(P:search{ { "id", "child_of", { k1.id, mom.id, k3.id } } }))
      assert.are.same({ "g", "k1", "mom" }, names(P:search{ { "id", "parent_of", g.id } }))
      assert.are.same({ "g", "k1", "k2" }, names(P:search{ { "parent_id", "child_of", mom.id } }))
      assert.are.same({ "solo" }, names(P:search{ { "id", "child_of", solo.id } }))
      assert.are.same({ "dad", "k3" }, names(P:search{ { "id", "parent_of", k3.id } }))
      assert.are.equal(1, P:search_count{ { "id", "child_of", k2.id } })
    end)

    it("child_of and parent_of end on a cycle with the right sets", function()
      local x = P:create{ name = "x" }
      local y = P:create{ name = "y", parent_id = x.id }
      local z = P:create{ name = "z", parent_id = y.id }
      local w = P:create{ name = "w", parent_id = z.id } -- hangs off the cycle
      x:write{ parent_id = z } -- x -> z -> y -> x
      assert.are.same({ "w", "x", "y", "z" }, names(P:search{ { "id", "child_of", x.id } }))
      assert.are.same({ "w", "x", "y", "z" }, names(P:search{ { "id", "child_of", y.id } }))
      assert.are.same({ "w", "x", "y", "z" }, names(P:search{ { "id", "parent_of", w.id } }))
      assert.are.same({ "x", "y", "z" }, names(P:search{ { "id", "parent_of", y.id } }))
      assert.are.same({ "w" }, names(P:search{ { "id", "child_of", w.id } }))
      -- a self-loop
      solo:write{ parent_id = solo }
      assert.are.same({ "solo" }, names(P:search{ { "id", "child_of", solo.id } }))
      assert.are.same({ "solo" }, names(P:search{ { "id", "parent_of", solo.id } }))
    end)
  end)

  -- -------------------------------------------------------------------
  describe("no N+1", function()
    it("partner_id.name over 10,000 records of a search takes 3 queries", function()
      local list = {}
      for i = 1, 50 do list[i] = { name = string.format("p%02d", i) } end
      local partners = P:create(list)
      local items = {}
      for i = 1, 10000 do items[i] = { seq = i, partner_id = partners[(i - 1) % 50 + 1].id } end
      env["rel.item"]:create(items)
      env:invalidate()
      local got, n = {}, 0
      -- the search, the items' fields, their partners' fields
      assert.are.equal(3, count_queries(env, function()
        local recs = env["rel.item"]:search{}
        for rec in recs:each() do
          n = n + 1
          got[rec.partner_id.name] = (got[rec.partner_id.name] or 0) + 1
        end
      end))
      assert.are.equal(10000, n)
      assert.are.equal(200, got.p01)
      assert.are.equal(200, got.p50)
      -- mapped through the relation: the same, and 0 once loaded
      env:invalidate()
      local recs = env["rel.item"]:search{ { "seq", ">", 5000 } }
      local names_
      assert.are.equal(2, count_queries(env, function() names_ = recs:mapped("partner_id.name") end))
      assert.are.equal(50, #names_)
      assert.are.equal(0, count_queries(env, function() recs:mapped("partner_id.name") end))
    end)

    it("reading child_ids or tag_ids across N records costs the same few queries for any N", function()
      local tags = T:create{ { name = "t1" }, { name = "t2" }, { name = "t3" } }
      local function setup(n, prefix)
        local list = {}
        for i = 1, n do
          list[i] = { name = string.format("%s%03d", prefix, i),
                      tag_ids = { tags[(i - 1) % 3 + 1].id, tags[i % 3 + 1].id },
                      child_ids = { Command.create{ name = prefix .. "kid" .. i } } }
        end
        P:create(list)
        return P:search{ { "name", "=like", prefix .. "___" } }
      end
      local small, big = setup(5, "s"), setup(60, "b")
      assert.are.equal(5, #small)
      assert.are.equal(60, #big)
      local costs = {}
      for _, recs in ipairs({ small, big }) do
        env:invalidate()
        local kids, ntags = 0, 0
        local c1 = count_queries(env, function()
          for rec in recs:each() do kids = kids + #rec.child_ids end
        end)
        local c2 = count_queries(env, function()
          for rec in recs:each() do ntags = ntags + #rec.tag_ids end
        end)
        local c3 = count_queries(env, function()
          for rec in recs:each() do
            for kid in rec.child_ids:each() do assert.matches("kid", kid.name) end
            for tag in rec.tag_ids:each() do assert.matches("^t%d$", tag.name) end
          end
        end)
        assert.are.equal(#recs, kids)
        assert.are.equal(2 * #recs, ntags)
        costs[#costs + 1] = { c1, c2, c3 }
      end
      -- child_ids: one query (the children's fields come with it); tag_ids:
      -- the pairs, then the tags' order; the names: the tags' fields
      assert.are.same(costs[1], costs[2])
      assert.are.equal(1, costs[1][1])
      assert.are.equal(2, costs[1][2])
      assert.are.equal(1, costs[1][3])
    end)

    it("recs:prefetch{ paths } loads nested relations: reading them costs 0 queries", function()
      local fr, de = C:create{ name = "France", code = "FR" }, C:create{ name = "Germany", code = "DE" }
      local t1, t2 = T:create{ name = "t1" }, T:create{ name = "t2" }
      local mom = P:create{ name = "mom", country_id = fr.id }
      local dad = P:create{ name = "dad", country_id = de.id }
      local list = {}
      for i = 1, 40 do
        list[i] = { name = string.format("k%02d", i), parent_id = (i % 2 == 0 and mom or dad).id,
                    tag_ids = i % 4 == 0 and { t1.id, t2.id } or { t2.id } }
      end
      P:create(list)
      env:invalidate()
      local recs = P:search{ { "parent_id", "!=", orm.null } }
      assert.are.equal(40, #recs)
      -- one query per step: the records' fields, their parents', the
      -- countries'; the tag pairs, the tags' order, the tags' fields
      assert.are.equal(6, count_queries(env, function()
        recs:prefetch{ "parent_id.country_id", "tag_ids" }
      end))
      local codes, ntags = {}, 0
      assert.are.equal(0, count_queries(env, function()
        for rec in recs:each() do
          local code = rec.parent_id.country_id.code
          codes[code] = (codes[code] or 0) + 1
          for tag in rec.tag_ids:each() do
            ntags = ntags + 1
            assert.matches("^t%d$", tag.name)
          end
        end
      end))
      assert.are.same({ FR = 20, DE = 20 }, codes)
      assert.are.equal(50, ntags)
      -- the same through search options
      env:invalidate()
      local again
      assert.are.equal(1 + 6, count_queries(env, function()
        again = P:search({ { "name", "=like", "k%" } }, { prefetch = { "parent_id.country_id", "tag_ids" } })
      end))
      assert.are.equal(40, #again)
      assert.are.equal(0, count_queries(env, function()
        for rec in again:each() do
          assert.is_not_nil(rec.parent_id.country_id.name)
          assert.is_true(#rec.tag_ids:mapped("name") >= 1)
        end
      end))
    end)

    it("a write invalidates exactly what it changed", function()
      local a, b, c = P:create{ name = "A" }, P:create{ name = "B" }, P:create{ name = "C" }
      local x = P:create{ name = "x", parent_id = a.id }
      local y = P:create{ name = "y", parent_id = a.id }
      local z = P:create{ name = "z", parent_id = c.id }
      env:invalidate()
      local parents = P:search{ { "name", "in", { "A", "B", "C" } } }
      assert.are.equal(3, #parents)
      -- every parent's children loaded, not the children's own fields
      for rec in parents:each() do local _ = rec.child_ids end
      assert.are.equal(0, count_queries(env, function()
        assert.are.same(sorted_ids{ x.id, y.id }, ids_of(a.child_ids))
        assert.are.same({ z.id }, c.child_ids.ids)
      end))
      -- move x from A to B
      P:browse{ x.id }:write{ parent_id = b.id }
      assert.are.same({ y.id }, a.child_ids.ids)
      assert.are.same({ x.id }, b.child_ids.ids)
      assert.are.equal(0, count_queries(env, function()
        assert.are.same({ z.id }, c.child_ids.ids)
      end))
      -- and back through the One2many
      a:write{ child_ids = { Command.link(x) } }
      assert.are.same(sorted_ids{ x.id, y.id }, ids_of(a.child_ids))
      assert.are.equal(0, #b.child_ids)
      assert.are.equal(0, count_queries(env, function()
        assert.are.same({ z.id }, c.child_ids.ids)
      end))
      -- Many2many: a link and an unlink change both sides of exactly the
      -- records involved
      local t1, t2, t3 = T:create{ name = "t1" }, T:create{ name = "t2" }, T:create{ name = "t3" }
      a:write{ tag_ids = { t1.id } }
      b:write{ tag_ids = { t1.id } }
      env:invalidate()
      for rec in parents:each() do local _ = rec.tag_ids end
      for tag in T:search{}:each() do local _ = tag.partner_ids end
      b:write{ tag_ids = { Command.link(t2) } }
      a:write{ tag_ids = { Command.unlink(t1) } }
      assert.are.same({ b.id }, t1.partner_ids.ids)
      assert.are.same({ b.id }, t2.partner_ids.ids)
      assert.are.equal(0, #a.tag_ids)
      assert.are.same(sorted_ids{ t1.id, t2.id }, ids_of(b.tag_ids))
      assert.are.equal(0, count_queries(env, function()
        assert.are.equal(0, #c.tag_ids)
        assert.are.equal(0, #t3.partner_ids)
      end))
    end)

    it("an unlink invalidates exactly what it changed", function()
      local a, c = P:create{ name = "A" }, P:create{ name = "C" }
      local x = P:create{ name = "x", parent_id = a.id }
      local y = P:create{ name = "y", parent_id = a.id }
      local z = P:create{ name = "z", parent_id = c.id }
      local t1, t2 = T:create{ name = "t1" }, T:create{ name = "t2" }
      a:write{ tag_ids = { t1.id, t2.id } }
      c:write{ tag_ids = { t2.id } }
      env:invalidate()
      local _ = a.child_ids
      _ = c.child_ids
      _ = a.tag_ids
      _ = c.tag_ids
      _ = t2.partner_ids
      P:browse{ x.id }:unlink()
      assert.are.same({ y.id }, a.child_ids.ids)
      T:browse{ t1.id }:unlink()
      assert.are.same({ t2.id }, a.tag_ids.ids)
      assert.are.equal(0, count_queries(env, function()
        assert.are.same({ z.id }, c.child_ids.ids)
        assert.are.same({ t2.id }, c.tag_ids.ids)
        assert.are.same(sorted_ids{ a.id, c.id }, ids_of(t2.partner_ids))
      end))
    end)
  end)

  -- -------------------------------------------------------------------
  describe("ondelete and relation constraints", function()
    it("cascade deletes the records that point at a deleted one", function()
      local O, L = env["rel.order"], env["rel.line"]
      local cust, keep = P:create{ name = "cust" }, P:create{ name = "keep" }
      local o1 = O:create{ name = "SO1", partner_id = cust.id,
                           line_ids = { Command.create{ seq = 1 }, Command.create{ seq = 2 } } }
      local o2 = O:create{ name = "SO2", partner_id = keep.id, line_ids = { Command.create{ seq = 3 } } }
      cust:unlink() -- partner -> orders -> lines
      assert.are.equal(0, #o1:exists())
      assert.are.equal(1, #o2:exists())
      assert.are.equal(1, L:search_count{})
      assert.are.same({ 3 }, L:search{}:mapped("seq"))
      env:invalidate()
      assert.are.equal(1, #o2.line_ids)
    end)

    it("set null empties the Many2one of the records that point at a deleted one", function()
      local mom = P:create{ name = "mom" }
      local kids = P:create{ { name = "k1", parent_id = mom.id }, { name = "k2", parent_id = mom.id } }
      mom:unlink()
      assert.are.equal(2, #kids:exists())
      env:invalidate()
      assert.are.equal(0, #kids[1].parent_id)
      assert.are.equal(0, #kids[2].parent_id)
      assert.are.equal(2, P:search_count{ { "parent_id", "=", orm.null } })
    end)

    it("restrict refuses with an error naming the referencing model and field", function()
      local fr = C:create{ name = "France", code = "FR" }
      local it_ = C:create{ name = "Italy", code = "IT" }
      local ann = P:create{ name = "Ann", country_id = fr.id }
      local err = h.error_of(fr.unlink, fr)
      assert.are.equal("ECONFLICT", err.code)
      assert.are.equal("rel.partner", err.model)
      assert.are.equal("country_id", err.field)
      assert.matches("cannot delete rel.country records", err.message, 1, true)
      assert.matches("rel.partner", err.message, 1, true)
      assert.matches("country_id", err.message, 1, true)
      assert.matches("restrict", err.message, 1, true)
      assert.matches("rel.partner(" .. tostring(ann.id) .. ")", err.message, 1, true)
      -- nothing went, not even the country nobody refers to
      err = h.error_of((fr + it_).unlink, fr + it_)
      assert.are.equal("ECONFLICT", err.code)
      assert.are.equal(2, C:search_count{})
      -- once nothing refers to it, it goes
      ann:write{ country_id = orm.null }
      fr:unlink()
      assert.are.equal(0, #fr:exists())
    end)

    it("a cascade over a 200-level tree is atomic: a restrict deep down keeps everything", function()
      local N, Pin = env["rel.node"], env["rel.pin"]
      local root = N:create{ depth = 0 }
      local last = root
      local nodes = { root }
      for d = 1, 199 do
        last = N:create{ depth = d, parent_id = last.id }
        nodes[#nodes + 1] = last
      end
      assert.are.equal(200, N:search_count{})
      local pin = Pin:create{ name = "pin", node_id = nodes[150].id }
      local err = h.error_of(root.unlink, root)
      assert.are.equal("ECONFLICT", err.code)
      assert.are.equal("rel.pin", err.model)
      assert.are.equal("node_id", err.field)
      assert.matches("rel.pin(" .. tostring(pin.id) .. ")", err.message, 1, true)
      env:invalidate()
      assert.are.equal(200, N:search_count{})
      assert.are.equal(197, nodes[199].parent_id.depth)
      assert.are.equal(1, #nodes[150].child_ids)
      -- without the pin, the whole tree goes in one unlink
      pin:unlink()
      root:unlink()
      assert.are.equal(0, N:search_count{})
      assert.are.equal(0, #nodes[200]:exists())
    end)

    it("deleting a record removes it from the Many2many links of others, junction rows too", function()
      local t1, t2 = T:create{ name = "t1" }, T:create{ name = "t2" }
      local a = P:create{ name = "a", tag_ids = { t1.id, t2.id } }
      local b = P:create{ name = "b", tag_ids = { t1.id } }
      local _ = t1.partner_ids
      b:unlink()
      assert.are.same({ "a" }, names(t1.partner_ids)) -- without invalidate
      env:invalidate()
      assert.are.same({ "a" }, names(t1.partner_ids))
      assert.are.same({ "a" }, names(t1.fan_ids))
      t2:unlink()
      assert.are.same({ "t1" }, names(a.tag_ids))
      env:invalidate()
      assert.are.same({ "t1" }, names(a.tag_ids))
      assert.are.equal(0, T:search_count{ { "name", "=", "t2" } })
      assert.are.same({ "t1" }, names(T:search{ { "partner_ids", "!=", orm.null } }))
      -- a new record (which may reuse a freed id) inherits no stale link
      a:unlink()
      local fresh = P:create{ name = "fresh" }
      local tag = T:create{ name = "tag" }
      env:invalidate()
      assert.are.equal(0, #fresh.tag_ids)
      assert.are.equal(0, #tag.partner_ids)
      assert.are.equal(0, #t1.partner_ids)
      assert.are.equal(0, T:search_count{ { "partner_ids", "!=", orm.null } })
    end)

    it("a Many2one to a record that does not exist is refused, in create and write", function()
      local nope = gone_id(C, { name = "gone" })
      local err = h.error_of(P.create, P, { name = "x", country_id = nope })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("rel.partner", err.model)
      assert.are.equal("country_id", err.field)
      assert.matches("rel.country(" .. tostring(nope) .. ") does not exist", err.message, 1, true)
      assert.are.equal(0, P:search_count{})
      -- in a batch: nothing is created
      local fr = C:create{ name = "France", code = "FR" }
      err = h.error_of(P.create, P, { { name = "ok", country_id = fr.id }, { name = "bad", country_id = nope } })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("country_id", err.field)
      assert.are.equal(0, P:search_count{})
      local a = P:create{ name = "a", country_id = fr.id }
      err = h.error_of(a.write, a, { country_id = nope })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("country_id", err.field)
      assert.matches("does not exist", err.message, 1, true)
      env:invalidate()
      assert.are.equal(fr, a.country_id)
    end)

    it("a missing record is refused inside commands too, and nothing of the write stays", function()
      local nope = gone_id(C, { name = "gone" })
      local nope_tag = gone_id(T, { name = "gone" })
      local nope_partner = gone_id(P, { name = "gone" })
      local t1 = T:create{ name = "t1" }
      local a = P:create{ name = "a" }
      local kid = P:create{ name = "kid", parent_id = a.id }
      local err = h.error_of(a.write, a, { ref = 1, child_ids = { Command.create{ name = "k", country_id = nope } } })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("country_id", err.field)
      err = h.error_of(a.write, a, { child_ids = { Command.update(kid, { country_id = nope }) } })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("country_id", err.field)
      err = h.error_of(a.write, a, { tag_ids = { Command.link(t1), Command.link(nope_tag) } })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("rel.partner", err.model)
      assert.are.equal("tag_ids", err.field)
      assert.matches("rel.tag(" .. tostring(nope_tag) .. ") does not exist", err.message, 1, true)
      err = h.error_of(a.write, a, { tag_ids = { nope_tag } })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("tag_ids", err.field)
      err = h.error_of(a.write, a, { child_ids = { Command.link(nope_partner) } })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("child_ids", err.field)
      assert.matches("rel.partner(" .. tostring(nope_partner) .. ") does not exist", err.message, 1, true)
      err = h.error_of(P.create, P, { name = "b", tag_ids = { nope_tag } })
      assert.are.equal("EVALIDATE", err.code)
      env:invalidate()
      assert.are.equal(2, P:search_count{})
      assert.is_nil(a.ref)
      assert.are.same({ "kid" }, names(a.child_ids))
      assert.are.equal(0, #kid.country_id)
      assert.are.equal(0, #a.tag_ids)
    end)

    it("a required Many2one is enforced in create and write", function()
      local O = env["rel.order"]
      local err = h.error_of(O.create, O, { name = "SO" })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("rel.order", err.model)
      assert.are.equal("partner_id", err.field)
      assert.matches("required", err.message, 1, true)
      err = h.error_of(O.create, O, { name = "SO", partner_id = orm.null })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("partner_id", err.field)
      assert.are.equal(0, O:search_count{})
      local cust = P:create{ name = "cust" }
      local o = O:create{ name = "SO", partner_id = cust }
      err = h.error_of(o.write, o, { partner_id = orm.null })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("partner_id", err.field)
      err = h.error_of(o.write, o, { partner_id = P:browse({}) })
      assert.are.equal("EVALIDATE", err.code)
      env:invalidate()
      assert.are.equal(cust, o.partner_id)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("link and unlink_rel events", function()
    it("fire for commands with exactly the records linked or unlinked", function()
      local t1, t2, t3 = T:create{ name = "t1" }, T:create{ name = "t2" }, T:create{ name = "t3" }
      local a = P:create{ name = "a" }
      reset_ctl()
      a:write{ tag_ids = { Command.link(t1), Command.link(t2), Command.link(t1) } }
      assert.are.same({ { "link", a.id, "tag_ids", "rel.tag", { t1.id } },
                        { "link", a.id, "tag_ids", "rel.tag", { t2.id } } }, ctl.log)
      reset_ctl()
      a:write{ tag_ids = { Command.unlink(t1), Command.unlink(t3) } }
      assert.are.same({ { "unlink_rel", a.id, "tag_ids", "rel.tag", { t1.id } } }, ctl.log)
      reset_ctl()
      a:write{ tag_ids = { Command.create{ name = "t4" } } }
      local t4 = T:search{ { "name", "=", "t4" } }
      assert.are.same({ { "link", a.id, "tag_ids", "rel.tag", { t4.id } } }, ctl.log)
      reset_ctl()
      a:write{ child_ids = { Command.create{ name = "kid" } } }
      local kid = P:search{ { "name", "=", "kid" } }
      assert.are.same({ { "link", a.id, "child_ids", "rel.partner", { kid.id } } }, ctl.log)
      reset_ctl()
      a:write{ child_ids = { Command.unlink(kid) } }
      assert.are.same({ { "unlink_rel", a.id, "child_ids", "rel.partner", { kid.id } } }, ctl.log)
      -- linking what is already linked fires nothing
      reset_ctl()
      a:write{ tag_ids = { Command.link(t2) } }
      assert.are.same({}, ctl.log)
    end)

    it("fire for set and clear with the difference only", function()
      local t1, t2, t3 = T:create{ name = "t1" }, T:create{ name = "t2" }, T:create{ name = "t3" }
      local a = P:create{ name = "a", tag_ids = { t1.id, t2.id } }
      reset_ctl()
      a:write{ tag_ids = { t2.id, t3.id } }
      assert.are.same({ { "unlink_rel", a.id, "tag_ids", "rel.tag", { t1.id } },
                        { "link", a.id, "tag_ids", "rel.tag", { t3.id } } }, ctl.log)
      reset_ctl()
      a:write{ tag_ids = { Command.set{ t2.id, t3.id } } }
      assert.are.same({}, ctl.log)
      reset_ctl()
      a:write{ tag_ids = { Command.clear() } }
      assert.are.same({ { "unlink_rel", a.id, "tag_ids", "rel.tag", sorted_ids{ t2.id, t3.id } } }, ctl.log)
      reset_ctl()
      local b = P:create{ name = "b", tag_ids = { t1.id, t3.id } }
      assert.are.same({ { "link", b.id, "tag_ids", "rel.tag", sorted_ids{ t1.id, t3.id } } }, ctl.log)
      -- on several records: once per record
      reset_ctl()
      ;(a + b):write{ tag_ids = orm.null }
      assert.are.same({ { "unlink_rel", b.id, "tag_ids", "rel.tag", sorted_ids{ t1.id, t3.id } } }, ctl.log)
      reset_ctl()
      ;(a + b):write{ tag_ids = { Command.link(t2) } }
      assert.are.same({ { "link", a.id, "tag_ids", "rel.tag", { t2.id } },
                        { "link", b.id, "tag_ids", "rel.tag", { t2.id } } }, ctl.log)
    end)

    it("an error in a handler rolls the whole write back", function()
      local t1, t2 = T:create{ name = "t1" }, T:create{ name = "t2" }
      local a = P:create{ name = "a", ref = 1, tag_ids = { t1.id } }
      ctl.fail_link = true
      local err = h.error_of(a.write, a, { ref = 2, tag_ids = { Command.unlink(t1), Command.link(t2) } })
      assert.matches("refused by the link handler", tostring(err), 1, true)
      env:invalidate()
      assert.are.equal(1, a.ref)
      assert.are.same({ "t1" }, names(a.tag_ids))
      assert.are.same({}, t2.partner_ids.ids)
      -- in create: no record, no new tag
      err = h.error_of(P.create, P, { name = "b", tag_ids = { Command.create{ name = "t3" } } })
      assert.matches("refused by the link handler", tostring(err), 1, true)
      assert.are.equal(0, P:search_count{ { "name", "=", "b" } })
      assert.are.equal(0, T:search_count{ { "name", "=", "t3" } })
      ctl.fail_link = nil
      ctl.fail_unlink_rel = true
      local kid = P:create{ name = "kid", parent_id = a.id }
      err = h.error_of(a.write, a, { name = "renamed", child_ids = { Command.clear() } })
      assert.matches("refused by the unlink_rel handler", tostring(err), 1, true)
      env:invalidate()
      assert.are.equal("a", a.name)
      assert.are.equal(a, kid.parent_id)
      assert.are.same({ "kid" }, names(a.child_ids))
    end)
  end)
end)
