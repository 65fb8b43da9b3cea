-- The Odoo conveniences (earnorm/conveniences.lua and the C behind them):
-- archived records, name_search and display_name, default_get,
-- fields_get, grouped, filtered paths, the =? operator and search_fetch.
-- Runs on every backend ($EARNORM_TEST_DB); ids are taken from records.
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

local log = {}

orm.model("conv.tag", {
  _order = "name",
  name   = f.Char{ required = true },
  active = f.Boolean{ default = true },
})

local Partner = orm.model("conv.partner", {
  _description = "Conveniences partner",
  _order = "name",
  name      = f.Char{ required = true, size = 40, string = "Name", help = "who it is" },
  active    = f.Boolean{ default = true },
  age       = f.Integer{ default = 18 },
  kind      = f.Selection{ choices = { { "person", "Person" }, { "company", "Company" }, "other" },
                           default = "person" },
  price     = f.Decimal{ digits = { 10, 3 } },
  notes     = f.Text{},
  data      = f.Json{ default = { a = 1, list = { 1, 2 } } },
  code      = f.Char{ default = function(model) return "C-" .. model._name end },
  parent_id = f.Many2one{ "conv.partner", ondelete = "set null" },
  child_ids = f.One2many{ "conv.partner", "parent_id" },
  tag_ids   = f.Many2many{ "conv.tag" },
  shout     = f.Char{ compute = "_compute_shout", depends = { "name" } },
})

function Partner:_compute_shout()
  for rec in self:each() do rec.shout = rec.name:upper() end
end

Partner:on("before_write", function(recs, vals)
  if vals.active ~= nil then log[#log + 1] = #recs end
end)

-- A model without a name field nor an active flag.
orm.model("conv.line", {
  qty = f.Integer{},
  partner_id = f.Many2one{ "conv.partner" },
})

-- Its records are named by a Many2one.
orm.model("conv.contract", {
  _rec_name = "partner_id",
  partner_id = f.Many2one{ "conv.partner" },
  ref = f.Char{},
})

-- A model that declares its own display_name field.
-- default functions returning the wrong type (a mistake in the model)
orm.model("conv.baddef", {
  name = f.Char{ default = function() return { 1, 2 } end },
  n    = f.Integer{ default = function() return "abc" end },
  ok   = f.Integer{ default = function() return 3 end },
})

local Named = orm.model("conv.named", {
  name = f.Char{},
  display_name = f.Char{ compute = "_compute_dn", depends = { "name" } },
})
function Named:_compute_dn()
  for rec in self:each() do rec.display_name = "<" .. (rec.name or "") .. ">" end
end

local function names(recs)
  local out = recs:mapped("name")
  table.sort(out)
  return out
end

local function count_queries(env, fn)
  env:reset_stats()
  fn()
  return env:stats().queries
end

describe("conveniences on " .. h.backend, function()
  local env, P, T
  local ann, bob, cy, dan, t1, t2
  before_each(function()
    env = h.fresh_env()
    for k in pairs(log) do log[k] = nil end
    P, T = env["conv.partner"], env["conv.tag"]
    t1 = T:create{ name = "t1" }
    t2 = T:create{ name = "t2", active = false }
    ann = P:create{ name = "Ann", age = 30, tag_ids = { t1.id, t2.id } }
    bob = P:create{ name = "Bob", age = 40, parent_id = ann }
    cy = P:create{ name = "Cy", age = 50, parent_id = ann, active = false }
    dan = P:create{ name = "Dan", age = 60, active = false }
    env:invalidate()
  end)

  -- -------------------------------------------------------------------
  describe("archived records", function()
    it("are hidden from search, search_count, search_read and read_group", function()
      assert.are.same({ "Ann", "Bob" }, names(P:search{}))
      assert.are.equal(2, P:search_count{})
      assert.are.equal(1, P:search_count{ { "age", ">", 35 } })
      local rows = P:search_read({}, { fields = { "name" } })
      assert.are.equal(2, #rows)
      local g = P:read_group({}, { "age:sum" }, {})
      assert.are.equal(2, g[1].__count)
      assert.are.equal(70, g[1].age)
      assert.are.equal(1, T:search_count{})
    end)

    it("show with the context active_test = false", function()
      local all = P:with_context{ active_test = false }
      assert.are.same({ "Ann", "Bob", "Cy", "Dan" }, names(all:search{}))
      assert.are.equal(4, all:search_count{})
      assert.are.equal(4, #all:search_read({}, { fields = { "name" } }))
      assert.are.equal(4, all:read_group({}, { "__count" }, {})[1].__count)
      -- records found carry the context
      local found = all:search{ { "name", "=", "Ann" } }
      assert.are.equal(2, #found.child_ids)
      assert.is_false(found._context.active_test)
      -- active_test = true is the default, said again
      assert.are.equal(2, all:with_context{ active_test = true }:search_count{})
    end)

    it("show with env.context.active_test = false, unless the records' context says otherwise", function()
      env.context.active_test = false
      assert.are.equal(4, P:search_count{})
      assert.are.equal(2, P:with_context{ active_test = true }:search_count{})
      assert.are.equal(2, #ann.child_ids)
      env.context = {}
      assert.are.equal(2, P:search_count{})
      local err = h.error_of(function() env.context = "x" end)
      assert.are.equal("EINVAL", err.code)
      assert.matches("env.context must be a table", err.message, 1, true)
      -- model code reads it, read-only
      env.context = { active_test = false }
      local face = ann.env
      assert.is_false(face.context.active_test)
      err = h.error_of(function() face.context.active_test = true end)
      assert.matches("env.context.active_test is read-only", tostring(err), 1, true)
      env.context = {}
    end)

    it("are taken as written when the domain names active", function()
      assert.are.same({ "Cy", "Dan" }, names(P:search{ { "active", "=", false } }))
      assert.are.equal(4, P:search_count{ { "active", "in", { true, false } } })
      assert.are.equal(3, P:search_count{ "|", { "active", "=", false }, { "name", "=", "Ann" } })
      assert.are.equal(1, P:search_count{ "!", { "active", "!=", false }, { "age", ">", 55 } })
      assert.are.equal(1, T:search_count{ { "active", "=", false } })
    end)

    it("are hidden in x2many values: record fields, read, search_read and mapped", function()
      assert.are.same({ "Bob" }, names(ann.child_ids))
      assert.are.same({ "t1" }, names(ann.tag_ids))
      local row = ann:read({ "child_ids", "tag_ids" })[1]
      assert.are.same({ bob.id }, row.child_ids)
      assert.are.same({ t1.id }, row.tag_ids)
      row = P:search_read({ { "name", "=", "Ann" } }, { fields = { "child_ids", "tag_ids" } })[1]
      assert.are.same({ bob.id }, row.child_ids)
      assert.are.same({ t1.id }, row.tag_ids)
      assert.are.same({ "Bob" }, names(P:search{}:mapped("child_ids")))
      assert.are.same({ "t1" }, names(P:search{}:mapped("tag_ids")))
      local all = ann:with_context{ active_test = false }
      assert.are.same({ "Bob", "Cy" }, names(all.child_ids))
      assert.are.same({ "t1", "t2" }, names(all.tag_ids))
      assert.are.equal(2, #all:read({ "tag_ids" })[1].tag_ids)
      assert.are.same({ "Bob", "Cy" }, names(all:mapped("child_ids")))
      -- a Many2one shows its archived record
      assert.are.equal("Ann", P:with_context{ active_test = false }:search{ { "name", "=", "Cy" } }
                                .parent_id.name)
    end)

    it("cost no query more when their fields are read next", function()
      env:invalidate()
      local q = count_queries(env, function()
        local kids = ann.child_ids
        assert.are.equal(1, #kids)
        assert.are.equal("Bob", kids[1].name)
        assert.are.equal(40, kids[1].age)
      end)
      -- the One2many list, with the children's flags and fields in the same rows
      assert.are.equal(1, q)
      env:invalidate()
      local all = P:search{}
      q = count_queries(env, function()
        for rec in all:each() do local _ = #rec.child_ids end
      end)
      -- one list load for the whole prefetch set, the flags in its rows
      assert.are.equal(1, q)
    end)

    it("are hidden in any and dotted sub-searches through x2many fields, not Many2one", function()
      assert.are.equal(0, P:search_count{ { "child_ids.name", "=", "Cy" } })
      assert.are.equal(0, P:search_count{ { "child_ids", "any", { { "age", ">", 45 } } } })
      assert.are.equal(1, P:search_count{ { "child_ids", "any", { { "active", "=", false } } } })
      assert.are.equal(0, P:search_count{ { "tag_ids.name", "=", "t2" } })
      assert.are.equal(2, P:search_count{ { "tag_ids", "not any", { { "name", "=", "t2" } } } })
      local all = P:with_context{ active_test = false }
      assert.are.equal(1, all:search_count{ { "child_ids.name", "=", "Cy" } })
      assert.are.equal(1, all:search_count{ { "tag_ids.name", "=", "t2" } })
      -- ids name links whatever the linked record's state
      assert.are.equal(1, P:search_count{ { "tag_ids", "in", { t2.id } } })
      -- Many2one: an archived parent still matches
      ann:action_archive()
      assert.are.same({ "Bob" }, names(P:search{ { "parent_id.name", "=", "Ann" } }))
      assert.are.same({ "Bob" }, names(P:search{ { "parent_id", "any", { { "age", "=", 30 } } } }))
    end)

    it("shows the added leaf in explain, and filtered_domain keeps archived records", function()
      local plan = env:explain("conv.partner", { { "age", ">", 1 } })
      assert.matches('"active"', plan, 1, true)
      plan = env:explain("conv.partner", { { "active", "=", false } })
      assert.matches('["active", "in", [false, null]]', plan, 1, true)
      local all = P:with_context{ active_test = false }:search{}
      assert.are.same({ "Cy", "Dan" }, names(all:filtered_domain{ { "age", ">", 45 } }))
    end)

    it("keeps archived links under x2many commands: set and clear replace them all", function()
      ann:write{ tag_ids = { t1.id } }
      assert.are.same({ "t1" }, names(ann:with_context{ active_test = false }.tag_ids))
      ann:write{ tag_ids = { orm.Command.link(t2) } }
      ann:write{ tag_ids = orm.null }
      assert.are.equal(0, #ann:with_context{ active_test = false }.tag_ids)
      ann:write{ child_ids = { orm.Command.clear() } }
      local all = P:with_context{ active_test = false }
      assert.are.equal(0, all:search_count{ { "parent_id", "!=", orm.null } })
    end)

    it("go through the C host API's Lua side the same way", function()
      local host = require "earnorm.host"
      assert.are.equal(2, host.search_count(env, "conv.partner", {}))
      local rows = host.search_read(env, "conv.partner", { { "age", "=?", orm.null } },
                                    { fields = { "name" }, order = "name" })
      assert.are.equal(2, #rows)
      assert.are.equal("Ann", rows[1].name)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("action_archive and action_unarchive", function()
    it("write active on the records that change, which then hide", function()
      local both = P:with_context{ active_test = false }:search{ { "name", "in", { "Ann", "Cy" } } }
      assert.is_true(both:action_archive())
      assert.are.same({ 1 }, log) -- Cy was archived already
      assert.are.same({ "Bob" }, names(P:search{}))
      assert.is_true(both:action_unarchive())
      assert.are.same({ 1, 2 }, log)
      assert.are.same({ "Ann", "Bob", "Cy" }, names(P:search{}))
      assert.is_true(P:browse({}):action_archive())
      assert.are.equal(2, #log)
    end)

      local L = env["conv.line"]
    it("refuse a model without an active field, and arguments", function()
      local line = L:create{ qty = 1 }
      local err = h.error_of(line.action_archive, line)
      assert.are.equal("EINVAL", err.code)
      assert.matches("conv.line: action_archive: the model has no 'active' field", err.message, 1, true)
      err = h.error_of(ann.action_unarchive, ann, true)
      assert.matches("action_unarchive: unexpected argument #1 (a boolean): it takes no argument",
                     err.message, 1, true)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("display_name and name_search", function()
    it("names records by _rec_name, a Many2one by its record, else model,id", function()
      assert.are.equal("Ann", ann.display_name)
      local C = env["conv.contract"]
      local c = C:create{ partner_id = bob, ref = "x" }
      local none = C:create{ ref = "y" }
      assert.are.equal("Bob", c.display_name)
      assert.is_nil(none.display_name)
      local line = env["conv.line"]:create{ qty = 2 }
      assert.are.equal("conv.line," .. tostring(line.id), line.display_name)
      assert.is_nil(P:browse({}).display_name)
      assert.are.same({ "Ann", "Bob" }, P:search{}:mapped("display_name"))
      assert.are.same({ "Ann" }, P:search{}:mapped("parent_id.display_name"))
      local err = h.error_of(function() return P:search{}.display_name end)
      assert.are.equal("EINVAL", err.code)
      assert.matches("reading 'display_name' on a recordset of 2 records", err.message, 1, true)
    end)

    it("gives way to a display_name field the model declares", function()
      local N = env["conv.named"]
      local n = N:create{ name = "x" }
      assert.are.equal("<x>", n.display_name)
      assert.are.same({ "<x>" }, N:search{}:mapped("display_name"))
      assert.are.same({ { n.id, "<x>" } }, N:name_search("x"))
      assert.are.equal("char", N:fields_get({ "display_name" }).display_name.type)
      assert.are.same({ "name" }, N:fields_get({ "display_name" }).display_name.depends)
    end)

    it("reserve the method names, not display_name", function()
      local err = h.error_of(orm.model, "conv.bad", { name_search = f.Char{} })
      assert.are.equal("EINVAL", err.code)
      assert.matches("conv.bad.name_search: 'name_search' is a recordset method and cannot be a field name",
                     err.message, 1, true)
      for _, k in ipairs({ "fields_get", "default_get", "grouped", "search_fetch", "action_archive" }) do
        err = h.error_of(orm.model, "conv.bad", { [k] = f.Char{} })
        assert.matches("is a recordset method", err.message, 1, true)
      end
    end)

    it("name_search matches _rec_name with ilike, in order, within a domain and a limit", function()
      P:create{ name = "Annette", age = 70 }
      assert.are.same({ { ann.id, "Ann" } }, P:name_search("ann", nil, "=ilike"))
      local res = P:name_search("ANN")
      assert.are.equal(2, #res)
      assert.are.equal("Ann", res[1][2])
      assert.are.equal(ann.id, res[1][1])
      assert.are.equal("Annette", res[2][2])
      assert.are.same({ { ann.id, "Ann" } }, P:name_search("ann", { { "age", "<", 50 } }))
      assert.are.same({ { ann.id, "Ann" } }, P:name_search("ann", {}, "ilike", 1))
      assert.are.equal(1, #P:name_search("ann", {}, "not ilike"))
      -- an empty name matches everything; archived records stay hidden
      assert.are.equal(3, #P:name_search(""))
      assert.are.equal(5, #P:with_context{ active_test = false }:name_search())
      assert.are.same({}, P:name_search("Cy"))
    end)

    it("name_search stops at 100 by default", function()
      local list = {}
      for i = 1, 105 do list[i] = { name = string.format("zz%03d", i) } end
      P:create(list)
      local res = P:name_search("zz")
      assert.are.equal(100, #res)
      assert.are.equal("zz001", res[1][2])
      assert.are.equal("zz100", res[100][2])
      assert.are.equal(105, #P:name_search("zz", nil, nil, 200))
    end)

    it("name_search refuses bad arguments and a model without _rec_name", function()
      local function msg(...)
        local err = h.error_of(P.name_search, P, ...)
        assert.are.equal("EINVAL", err.code)
        return err.message
      end
      assert.matches("name must be a string, got a number", msg(5), 1, true)
      assert.matches("a domain must be a list of leaves", msg("a", "x"), 1, true)
      assert.matches("operator must be a string", msg("a", {}, 1), 1, true)
      assert.matches("limit must be a positive integer, got a number", msg("a", {}, "ilike", 0), 1, true)
      assert.matches("unexpected argument #5 (\"x\")", msg("a", {}, "ilike", 5, "x"), 1, true)
      local L = env["conv.line"]
      assert.matches("unknown operator 'ilikee'", msg("a", {}, "ilikee"), 1, true)
      local line = L:create{ qty = 1 }
      local err = h.error_of(L.name_search, L, "x")
      assert.matches("conv.line: name_search: the model has no _rec_name field", err.message, 1, true)
      assert.are.same({ { line.id, "conv.line," .. tostring(line.id) } }, L:name_search(""))
    end)
  end)

  -- -------------------------------------------------------------------
  describe("default_get", function()
    it("gives static and function defaults of the fields named", function()
      local d = P:default_get{ "kind", "age", "active", "code", "name", "data" }
      assert.are.equal("person", d.kind)
      assert.are.equal(18, d.age)
      assert.is_true(d.active)
      assert.are.equal("C-conv.partner", d.code)
      assert.is_nil(d.name)
      assert.are.same({ a = 1, list = { 1, 2 } }, d.data)
      -- a copy: changing it changes no later default
      d.data.a = 2
      assert.are.equal(1, P:default_get{ "data" }.data.a)
      local all = P:default_get()
      assert.are.same({ "active", "age", "code", "data", "kind" },
                      (function() local k = {} for n in pairs(all) do k[#k + 1] = n end table.sort(k) return k end)())
      assert.are.equal(P:create{ name = "New" }.code, all.code)
    end)

    it("reads the context's default_<field> keys, as create does", function()
      local parent = P:create{ name = "Parent" }
      local Pc = P:with_context{ default_kind = "company", default_age = 40,
                                 default_code = "CTX", default_parent_id = parent,
                                 default_notes = "n", lang = "fr" }
      local d = Pc:default_get{ "kind", "age", "code", "parent_id", "notes", "active", "name" }
      assert.are.same({ kind = "company", age = 40, code = "CTX", parent_id = parent.id,
                        notes = "n", active = true }, d)
      -- create: the context wins over the field's default (a function's too: not called),
      -- a value given wins over the context
      local r = Pc:create{ name = "A", age = 7 }
      assert.are.same({ "company", 7, "CTX", "n", true }, { r.kind, r.age, r.code, r.notes, r.active })
      assert.are.equal(parent, r.parent_id)
      local list = Pc:create{ { name = "B", kind = "other" }, { name = "C", notes = orm.null } }
      assert.are.same({ "other", "company" }, list:mapped("kind"))
      assert.are.same({ "n" }, list:mapped("notes"))           -- orm.null given: no value
      assert.are.same({ 40, 40 }, list:mapped("age"))
      -- the records keep the context; a plain model recordset has none
      assert.are.equal("person", P:create{ name = "D" }.kind)
      assert.are.equal("person", P:default_get{ "kind" }.kind)
      -- an x2many command creates on the comodel without the parent's context
      local withkids = Pc:create{ name = "E", child_ids = { orm.Command.create{ name = "kid" } } }
      assert.are.equal("person", withkids.child_ids[1].kind)
    end)

    it("refuses a default_ key naming no field, and default_ keys in env.context", function()
      local Pc = P:with_context{ default_kidn = "company" }
      local err = h.error_of(Pc.create, Pc, { name = "A" })
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("conv.partner: create: context key 'default_kidn': no field 'kidn' (did you "
                       .. "mean 'default_kind'?)", err.message)
      assert.are.equal("conv.partner", err.model)
      err = h.error_of(Pc.default_get, Pc, { "kind" })
      assert.are.equal("conv.partner: default_get: context key 'default_kidn': no field 'kidn' "
                       .. "(did you mean 'default_kind'?)", err.message)
      assert.are.equal(0, P:search_count{ { "name", "=", "A" } })
      -- the value goes through create's own checks
      err = h.error_of(P.create, P:with_context{ default_kind = "nope" }, { name = "A" })
      assert.are.equal("EVALIDATE", err.code)
      assert.matches("conv.partner.kind", err.message, 1, true)
      env.context.default_kind = "company"
      err = h.error_of(P.create, P, { name = "A" })
      env.context.default_kind = nil
      assert.are.equal("conv.partner: create: env.context key 'default_kind': default_<field> keys "
                       .. "belong in the context of the model's records "
                       .. "(env[\"conv.partner\"]:with_context{ default_kind = ... }); env.context "
                       .. "is shared by every model", err.message)
      assert.are.equal("company", P:with_context{ default_kind = "company" }:create{ name = "F" }.kind)
    end)

    it("refuses an unknown field naming the closest", function()
      local err = h.error_of(P.default_get, P, { "kidn" })
      assert.are.equal("EINVAL", err.code)
      assert.matches("default_get: no field 'kidn' (did you mean 'kind'?)", err.message, 1, true)
      err = h.error_of(P.default_get, P, "kind")
      assert.matches("fields must be a list of names", err.message, 1, true)
      err = h.error_of(P.default_get, P, { "kind" }, 1)
      assert.matches("unexpected argument #2", err.message, 1, true)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("fields_get", function()
    it("describes fields as Odoo does", function()
      local fg = P:fields_get()
      local name = fg.name
      assert.are.equal("char", name.type)
      assert.are.equal("name", name.name)
      assert.are.equal("Name", name.string)
      assert.are.equal("who it is", name.help)
      assert.is_true(name.required)
      assert.is_false(name.readonly)
      assert.is_true(name.store)
      assert.is_true(name.searchable)
      assert.is_true(name.sortable)
      assert.are.equal(40, name.size)
      assert.are.same({ { "person", "Person" }, { "company", "Company" }, { "other", "other" } },
                      fg.kind.selection)
      assert.are.equal("selection", fg.kind.type)
      assert.are.same({ 10, 3 }, fg.price.digits)
      assert.are.equal("many2one", fg.parent_id.type)
      assert.are.equal("conv.partner", fg.parent_id.relation)
      assert.are.equal("one2many", fg.child_ids.type)
      assert.are.equal("parent_id", fg.child_ids.relation_field)
      assert.is_true(fg.child_ids.store)
      assert.is_false(fg.child_ids.sortable)
      assert.are.equal("many2many", fg.tag_ids.type)
      assert.are.equal("conv.tag", fg.tag_ids.relation)
      assert.is_false(fg.shout.store)
      assert.is_true(fg.shout.readonly)
      assert.is_false(fg.shout.searchable)
      assert.are.same({ "name" }, fg.shout.depends)
      assert.is_false(fg.notes.groupable)
      assert.is_true(fg.age.groupable)
      assert.are.equal("integer", fg.id.type)
      assert.is_true(fg.id.readonly)
      assert.are.equal("char", fg.display_name.type)
      assert.is_false(fg.display_name.store)
      assert.are.equal("json", fg.data.type)
      assert.are.equal("decimal", fg.price.type)
      assert.is_nil(fg.name.relation)
    end)

    it("keeps the fields and attributes asked for, in new tables", function()
      local fg = P:fields_get({ "kind", "parent_id" }, { "type", "string" })
      assert.are.same({ kind = { type = "selection", string = "kind" },
                        parent_id = { type = "many2one", string = "parent_id" } }, fg)
      fg.kind.type = "x"
      assert.are.equal("selection", P:fields_get({ "kind" }, { "type" }).kind.type)
      P:fields_get({ "kind" }).kind.selection[1][2] = "changed"
      assert.are.equal("Person", P:fields_get({ "kind" }).kind.selection[1][2])
    end)

    it("refuses unknown fields and attributes naming the closest", function()
      local err = h.error_of(P.fields_get, P, { "nmae" })
      assert.are.equal("EINVAL", err.code)
      assert.matches("fields_get: no field 'nmae' (did you mean 'name'?)", err.message, 1, true)
      err = h.error_of(P.fields_get, P, nil, { "strng" })
      assert.matches("fields_get: no attribute 'strng' (did you mean 'string'?)", err.message, 1, true)
      err = h.error_of(P.fields_get, P, nil, nil, {})
      assert.matches("unexpected argument #3", err.message, 1, true)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("default functions", function()
    it("a default function's wrong value is refused by default_get and create, saying it is the default", function()
      local B = env["conv.baddef"]
      assert.are.same({ ok = 3 }, B:default_get{ "ok" })
      local e = h.error_of(function() B:default_get{ "name" } end)
      assert.are.equal("EINVAL", e.code)
      assert.are.equal("conv.baddef.name: the default function returned a table: expected a value for a Char field, got a table",
                       e.message)
      assert.are.equal("name", e.field)
      e = h.error_of(function() B:create{ name = "given" } end)
      assert.are.equal("EINVAL", e.code)
      assert.truthy(e.message:find("^conv.baddef.n: the default function returned a string: "), e.message)
      local r = B:create{ name = "given", n = 5 }
      assert.are.equal(3, r.ok)
      assert.are.equal(1, B:search_count{})
    end)
  end)

  describe("grouped", function()
    it("splits records by a field, a Many2one's id or a function, keeping their order", function()
      local all = P:with_context{ active_test = false }:search{}
      local g = all:grouped("parent_id")
      assert.are.same({ "Bob", "Cy" }, g[ann.id]:mapped("name"))
      assert.are.same({ "Ann", "Dan" }, g[false]:mapped("name"))
      g = all:grouped("active")
      assert.are.same({ "Ann", "Bob" }, g[true]:mapped("name"))
      assert.are.same({ "Cy", "Dan" }, g[false]:mapped("name"))
      g = all:grouped(function(rec) return rec.age >= 50 and "old" or nil end)
      assert.are.same({ "Cy", "Dan" }, g.old:mapped("name"))
      assert.are.same({ "Ann", "Bob" }, g[false]:mapped("name"))
      local n = 0
      for _ in pairs(P:browse({}):grouped("age")) do n = n + 1 end
      assert.are.equal(0, n)
    end)

    it("groups by a record a function returns by its id (each rec.parent_id is a new object)", function()
      local all = P:with_context{ active_test = false }:search{}
      local g = all:grouped(function(rec) return rec.parent_id end)
      local n = 0
      for _ in pairs(g) do n = n + 1 end
      assert.are.equal(2, n)
      assert.are.same({ "Bob", "Cy" }, g[ann.id]:mapped("name"))
      assert.are.same({ "Ann", "Dan" }, g[false]:mapped("name"))
      local err = h.error_of(function() all:grouped(function(rec) return all end) end)
      assert.are.equal("EINVAL", err.code)
      assert.matches("is a recordset of 4 records (return one record, its id or a field value)", err.message, 1, true)
    end)

    it("refuses x2many fields, unknown fields and other keys", function()
      local err = h.error_of(P.grouped, P, "child_ids")
      assert.matches("'child_ids' is an x2many field", err.message, 1, true)
      err = h.error_of(P.grouped, P, "agee")
      assert.matches("grouped: no field 'agee' (did you mean 'age'?)", err.message, 1, true)
      err = h.error_of(P.grouped, P, 5)
      assert.matches("grouped: expected a field name or a function, got a number", err.message, 1, true)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("filtered with a path", function()
    it("keeps records where any value at the end of the path is truthy", function()
      local all = P:with_context{ active_test = false }:search{}
      assert.are.same({ "Bob", "Cy" }, all:filtered("parent_id.name"):mapped("name"))
      assert.are.same({ "Ann" }, P:search{}:filtered("child_ids.name"):mapped("name"))
      assert.are.same({ "Ann" }, all:filtered("child_ids.age"):mapped("name"))
      assert.are.same({}, all:filtered("parent_id.parent_id.name"):mapped("name"))
      assert.are.same({ "Ann" }, P:search{}:filtered("tag_ids"):mapped("name"))
    end)

    it("refuses a path through a non-relational field and extra arguments, naming them", function()
      local all = P:with_context{ active_test = false }:search{}
      local err = h.error_of(function() all:filtered("name.x") end)
      assert.are.equal("EINVAL", err.code)
      assert.are.equal("conv.partner: 'name' is a Char field, not a relation: it has no fields to follow (in 'name.x')",
                       err.message)
      err = h.error_of(function() all:filtered("parent_id.name.x") end)
      assert.matches("'name' is a Char field, not a relation", err.message, 1, true)
      err = h.error_of(function() all:mapped("age.x") end)
      assert.matches("'age' is a Integer field, not a relation", err.message, 1, true)
      err = h.error_of(function() all:filtered("name", "ignored", 42) end)
      assert.matches("filtered: unexpected argument #2 (a string): it takes (function or path)", err.message, 1, true)
    end)

    it("loads the path once for all records", function()
      local all = P:with_context{ active_test = false }:search{}
      env:invalidate()
      local q = count_queries(env, function()
        assert.are.equal(2, #all:filtered("parent_id.age"))
      end)
      local L = env["conv.line"]
      assert.are.equal(1, q) -- the records; their parents are among them
      for i = 1, 5 do L:create{ qty = i, partner_id = i % 2 == 0 and bob or (i == 5 and dan or nil) } end
      local lines = L:search{}
      env:invalidate()
      q = count_queries(env, function()
        assert.are.same({ 2, 4, 5 }, lines:filtered("partner_id.name"):mapped("qty"))
      end)
      assert.are.equal(2, q) -- the lines, then their partners
      local err = h.error_of(all.filtered, all, "parent_id.nope")
      assert.matches("no field 'nope'", err.message, 1, true)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("the =? operator", function()
    it("is TRUE for nil, false and orm.null, and = otherwise", function()
      assert.are.equal(2, P:search_count{ { "age", "=?", orm.null } })
      assert.are.equal(2, P:search_count{ { "age", "=?", false } })
      assert.are.equal(2, P:search_count{ { "age", "=?", nil } })
      assert.are.equal(1, P:search_count{ { "age", "=?", 30 } })
      assert.are.equal(1, P:search_count{ { "parent_id", "=?", ann.id } })
      assert.are.equal(1, P:search_count{ { "parent_id.name", "=?", "Ann" } })
      assert.are.equal(2, P:search_count{ { "parent_id.name", "=?", orm.null } })
      assert.are.equal(1, P:search_count{ "!", { "age", "=?", 30 } })
      assert.are.equal(0, P:search_count{ "!", { "age", "=?", orm.null } })
      assert.are.equal(1, P:search_count{ { "age", "=?", orm.null }, { "name", "=", "Bob" } })
    end)

    it("checks the field path even when the value is unset", function()
      local err = h.error_of(P.search, P, { { "agee", "=?", orm.null } })
      assert.are.equal("EINVAL", err.code)
      assert.matches("no field 'agee'", err.message, 1, true)
      err = h.error_of(P.search, P, { { "parent_id.nope", "=?", nil } })
      assert.matches("no field 'nope' on conv.partner", err.message, 1, true)
      err = h.error_of(P.search, P, { { "age.x", "=?", nil } })
      assert.matches("a dotted path must go through a relational field", err.message, 1, true)
      err = h.error_of(P.search, P, { { "age", "=?", { 1, 2 } } })
      assert.are.equal("EINVAL", err.code)
    end)
  end)

  -- -------------------------------------------------------------------
  describe("search_fetch", function()
    it("searches and loads the fields in one query", function()
      env:invalidate()
      local recs
      local q = count_queries(env, function()
        recs = P:search_fetch({ { "age", ">", 20 } }, { "name", "age" }, { order = "age desc" })
      end)
      assert.are.equal(1, q)
      q = count_queries(env, function()
        assert.are.same({ "Bob", "Ann" }, recs:mapped("name"))
        assert.are.same({ 40, 30 }, recs:mapped("age"))
      end)
      assert.are.equal(0, q)
      recs = P:with_context{ active_test = false }:search_fetch({}, { "name" }, { limit = 2, offset = 1 })
      assert.are.same({ "Bob", "Cy" }, recs:mapped("name"))
      assert.are.equal(0, #P:search_fetch({}, { "name" }, { limit = 0 }))
    end)

    it("loads every stored field without a list, x2many and computed fields when named", function()
      env:invalidate()
      local recs = P:search_fetch{ { "name", "=", "Ann" } }
      local q = count_queries(env, function()
        assert.are.equal(30, recs.age)
        assert.are.equal("person", recs.kind)
      end)
      assert.are.equal(0, q)
      env:invalidate()
      recs = P:search_fetch({ { "name", "=", "Ann" } }, { "name", "child_ids", "shout" })
      q = count_queries(env, function()
        assert.are.equal(1, #recs.child_ids)
        assert.are.equal("ANN", recs.shout)
      end)
      assert.are.equal(0, q)
    end)

    it("refuses unknown fields, paths and options", function()
      local err = h.error_of(P.search_fetch, P, {}, { "nmae" })
      assert.matches("search_fetch: no field 'nmae' (did you mean 'name'?)", err.message, 1, true)
      err = h.error_of(P.search_fetch, P, {}, { "parent_id.name" })
      assert.matches("'parent_id.name' is a path", err.message, 1, true)
      err = h.error_of(P.search_fetch, P, {}, nil, { limt = 1 })
      assert.matches("unknown option 'limt' (did you mean 'limit'?)", err.message, 1, true)
      err = h.error_of(P.search_fetch, P, {}, nil, nil, 1)
      assert.matches("unexpected argument #4", err.message, 1, true)
    end)
  end)
end)
