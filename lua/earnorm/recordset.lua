--- Recordset methods. A recordset is C userdata (a model and an array of
-- ids); field values live in the C record store and are read on access.
-- This module holds the methods written in Lua: the ones that run user
-- code (events, compute methods, validators) around the C operations.
local core = require "earnorm.core"
local errors = require "earnorm.errors"
local properties = require "earnorm.properties"
local delegation = require "earnorm.delegation"

local R = {}
local M = { methods = R }

--- What the ORM keeps of each model class, by class (earnorm.model fills
-- it): _name, _class, and the tables _fields, _field_order, _handlers,
-- _constraints, _checks, _default_fns, _computes, _stored_computes, _x2many. A
-- class shows these only as read-only views (model code reaches any
-- class's fields through its records, so the tables themselves live here).
M.class_state = setmetatable({}, { __mode = "k" })
local class_state = M.class_state

-- The state of the class of recs (below, `cls` is always such a state).
local function class_of(recs) return class_state[core.class(recs)] end
-- a model's ORM state by name (earnorm.delegation follows paths with it)
local function state_of(name)
  local model = require("earnorm.model").registry[name]
  return model and class_state[model]
end

local function fail(code, msg, model, field)
  error(core.new_error(code, msg, model, field), 3)
end

-- Argument checks: misuse is an EINVAL naming the model and the method,
-- never a Lua error from inside this module ("attempt to index ...").
local function arg_error(self, method, msg)
  local name = core.model_name(self)
  error(core.new_error("EINVAL", string.format("%s: %s: %s", name, method, msg), name), 3)
end

local function check_domain(self, method, domain)
  if domain ~= nil and (type(domain) ~= "table" or domain == core.null) then
    arg_error(self, method, "a domain must be a list of leaves (a table), got a " .. type(domain))
  end
end

-- Known options of each method; anything else is an error naming the closest.
local OPTS = {
  search = { "order", "limit", "offset", "prefetch" },
  search_iter = { "batch", "order", "limit", "offset", "batches" },
  search_read = { "fields", "order", "limit", "offset", "nulls" },
  search_count = {},
  read = { "nulls" },
  read_group = { "orderby", "order", "limit", "offset" },
}

local function check_opts(self, method, opts)
  core.check_options(opts, OPTS[method], core.model_name(self) .. ": " .. method)
  return opts or {}
end

local function check_names(self, method, names, what)
  if names == nil then return end
  if type(names) ~= "table" or core.is_recordset(names) or names == core.null then
    arg_error(self, method, string.format("%s must be a list of field names, got a %s", what,
                                          type(names)))
  end
  for i, n in ipairs(names) do
    if type(n) ~= "string" then
      arg_error(self, method, string.format("%s[%d] must be a field name (a string), got a %s",
                                            what, i, type(n)))
    end
  end
end

-- An operation with user code in it (events, validators, computes, x2many
-- commands) is all or nothing: a transaction or savepoint where the server
-- has them, the undo journal where it does not.
local function atomic(self, fn, ...)
  local c = core.cenv(self)
  core.atomic_begin(c)
  local res = table.pack(pcall(fn, ...))
  if res[1] then
    core.atomic_end(c, true)
    return table.unpack(res, 2, res.n)
  end
  core.atomic_end(c, false)
  error(res[2], 0)
end

-- An error of model code the ORM called: past the time limit it goes on
-- as it is (it is the time limit, or came while unwinding from it).
local function rethrow(err, cls, what)
  if core.timed_out() then error(err, 0) end
  error(errors.wrap(err, cls._name, what), 0)
end

local function run_handlers(cls, event, ...)
  local list = cls._handlers[event]
  if not list or #list == 0 then return end
  -- a handler may unregister itself: iterate over a copy
  for _, h in ipairs({ table.unpack(list) }) do
    local ok, err = pcall(h, ...)
    if not ok then rethrow(err, cls, event .. " handler") end
  end
end

local function compute_fn(cls, name)
  local spec = cls._fields[name]
  local c = spec.compute
  local fn = type(c) == "function" and c or cls._class[c]
  if type(fn) ~= "function" then
    fail("EINVAL", string.format("%s.%s: compute method '%s' is not defined", cls._name, name,
                                 tostring(c)), cls._name, name)
  end
  return fn
end

local function call_compute(cls, recs, fn, name)
  local c = core.cenv(recs)
  core.computing(c, 1)
  local ok, err = pcall(fn, recs)
  core.computing(c, -1)
  if not ok then rethrow(err, cls, "compute of " .. name) end
end

--- Compute non-stored fields for records that lack them (called by C on
-- a read, and by read()).
function M.compute_missing(recs, name)
  local cls = class_of(recs)
  call_compute(cls, recs, compute_fn(cls, name), name)
end
core.set_compute_hook(M.compute_missing)

-- ---------------------------------------------------------------------
-- Recomputation and constraints, driven by the marks of core/depends: an
-- operation marks the stored computed fields and the constraints of
-- exactly the records its change reaches; flush_marks recomputes them in
-- rank order (a field before the fields computed from it, constraints
-- last), one batch per field, inside the operation's atomic scope.

-- [cenv][model .. "\0" .. field] -> { [id] = true }: being computed now (a
-- read of them gives what the compute method assigned, not a recompute)
local busy = setmetatable({}, { __mode = "k" })
local function busy_set(recs, name)
  local c = core.cenv(recs)
  local b = busy[c]
  if not b then b = {}; busy[c] = b end
  local key = core.model_name(recs) .. "\0" .. name
  local set = b[key]
  if not set then set = {}; b[key] = set end
  return set
end

-- Compute stored field `name` of recs (all marked), write it in one batch,
-- unmark; fields sharing the compute method are written from the same run.
local function compute_marked(cls, recs, name)
  local fn = compute_fn(cls, name)
  local set = busy_set(recs, name)
  local ids = recs.ids
  for _, id in ipairs(ids) do set[id] = true end
  local ok, err = pcall(call_compute, cls, recs, fn, name)
  for _, id in ipairs(ids) do set[id] = nil end
  if not ok then error(err, 0) end
  core.flush_computed(recs, name)
  core.deps_done(recs, name)
  for _, other in ipairs(cls._stored_computes) do
    if other ~= name and compute_fn(cls, other) == fn then
      local sib = core.deps_take(recs, other)
      if #sib > 0 then
        core.flush_computed(sib, other)
        core.deps_done(sib, other)
      end
    end
  end
end

local function recompute_marked(cls, recs, name)
  if cls._fields[name].recursive then
    -- one record at a time: reading a marked child computes it first
    local set = busy_set(recs, name)
    for rec in core.each(recs) do
      if not set[rec.id] and core.deps_marked(rec, name) then compute_marked(cls, rec, name) end
    end
    return
  end
  compute_marked(cls, recs, name)
end

-- A read of a marked stored value (from C, before the value is read).
core.set_recompute_hook(function(rec, name)
  if busy_set(rec, name)[rec.id] then return end
  compute_marked(class_of(rec), rec, name)
end)

local function run_check(cls, recs, index)
  core.deps_done(recs, index)
  local c = cls._checks[index]
  if not c then return end
  local ok, err, why = pcall(c.fn, recs)
  if ok and err ~= nil and err ~= true then
    -- false[, message] refuses the records; anything else is a mistake
    local model, names = cls._name, table.concat(c.names, ", ")
    if err == false then
      ok, err = false, core.new_error("EVALIDATE", string.format("%s: constraint on %s failed: %s", model, names,
        why ~= nil and tostring(why) or "it returned false"), model, #c.names == 1 and c.names[1] or nil)
    else
      fail("EINVAL", string.format("%s: the constraint on %s returned %s (a constraint returns nothing, "
        .. "true, or false and a message; or raises orm.ValidationError)", model, names, type(err)), model)
    end
  end
  if not ok then
    if core.timed_out() then error(err, 0) end
    local e = errors.wrap(err, cls._name, "constraint on " .. table.concat(c.names, ", "))
    if e.code == "EVALIDATE" and (e.field == nil or e.field == "") and #c.names == 1 and
       not c.names[1]:find(".", 1, true) then
      e.field = c.names[1]
    end
    error(e, 0)
  end
end

local draining = setmetatable({}, { __mode = "k" })

--- A flush gives up after this many batches: records of a recursive field
-- that form a cycle (a parent of its own parent) would mark each other
-- again and again.
M.MAX_RECOMPUTE_PASSES = 100000

--- A flush also gives up when one record's field (or one record's
-- constraint) comes back this many times: a cycle in the data, or a
-- compute method or a constraint writing what it depends on, fails in
-- milliseconds, naming the record, instead of after the pass limit.
M.MAX_RECOMPUTE_REPEATS = 1000

local function id_text(id)
  return type(id) == "string" and string.format("'%s'", id) or tostring(id)
end

-- Count a batch's records under key; the first id past the repeat limit.
local function repeated(seen, key, recs)
  local t = seen[key]
  if not t then t = {}; seen[key] = t end
  local limit = M.MAX_RECOMPUTE_REPEATS
  for _, id in ipairs(recs.ids) do
    local n = (t[id] or 0) + 1
    t[id] = n
    if n > limit then return id end
  end
end

local function repeat_error(cls, todo, name, check, id)
  local model = core.model_name(todo)
  if name then
    local why = cls._fields[name] and cls._fields[name].recursive and
      "its records form a cycle (a parent of its own parent)" or
      "a compute method writes what it depends on"
    fail("ELIMIT", string.format(
      "%s.%s: %s(%s) is recomputed again and again (%d times in one operation): %s",
      model, name, model, id_text(id), M.MAX_RECOMPUTE_REPEATS, why), model, name)
  end
  local c = cls._checks[check]
  local names = c and table.concat(c.names, ", ") or "?"
  fail("ELIMIT", string.format(
    "%s: the constraint on %s runs again and again for %s(%s) (%d times in one operation): "
      .. "it writes a field it checks (a constraint must not write the fields it checks)",
    model, names, model, id_text(id), M.MAX_RECOMPUTE_REPEATS), model, c and c.names[1] or nil)
end

--- Recompute what the operations marked, then run the marked constraints
-- (one pass per env: an operation a compute method or a handler runs
-- during the pass leaves its marks to the same loop).
function M.flush_marks(recs)
  local c = core.cenv(recs)
  if draining[c] then return end
  draining[c] = true
  local ok, err = pcall(function()
    local passes, seen = 0, {}
    while true do
      local todo, name, check = core.deps_next(recs)
      if not todo then return end
      passes = passes + 1
      if passes > M.MAX_RECOMPUTE_PASSES then
        fail("ELIMIT", string.format(
          "%s.%s: recomputing does not end after %d passes (do the records of a recursive field form a cycle?)",
          core.model_name(todo), tostring(name or "constraint"), M.MAX_RECOMPUTE_PASSES),
          core.model_name(todo), name)
      end
      local cls = class_of(todo)
      local again = repeated(seen, core.model_name(todo) .. (name and "." .. name or "#" .. check), todo)
      if again ~= nil then repeat_error(cls, todo, name, check, again) end
      if name then recompute_marked(cls, todo, name) else run_check(cls, todo, check) end
    end
  end)
  draining[c] = nil
  if not ok then error(err, 0) end
end

-- ---------------------------------------------------------------------
-- inverse methods: a computed field given `inverse` is writable

-- Split the values of fields with an inverse off vals: plain vals and
-- those, or nil when there are none.
local function split_inverse(cls, vals)
  if next(cls._inverses) == nil then return vals, nil end
  local inv
  for name in pairs(cls._inverses) do
    if vals[name] ~= nil then
      inv = inv or {}
      inv[name] = vals[name]
    end
  end
  if not inv then return vals, nil end
  local plain = {}
  for k, v in pairs(vals) do
    if inv[k] == nil then plain[k] = v end
  end
  return plain, inv
end

-- The values are assigned as a compute method would (converted and
-- checked; stored ones written), then each distinct inverse method runs
-- once with the records and stores them where they come from.
local function apply_inverse(cls, recs, inv)
  local c = core.cenv(recs)
  local names = {}
  for name in pairs(inv) do names[#names + 1] = name end
  table.sort(names)
  core.computing(c, 1)
  local ok, err = pcall(function()
    for _, name in ipairs(names) do
      for rec in core.each(recs) do rec[name] = inv[name] end
    end
  end)
  core.computing(c, -1)
  if not ok then error(err, 0) end
  local done = {}
  for _, name in ipairs(names) do
    local spec = cls._fields[name]
    if spec.store then core.flush_computed(recs, name) end
    local fn = type(spec.inverse) == "function" and spec.inverse or cls._class[spec.inverse]
    if type(fn) ~= "function" then
      fail("EINVAL", string.format("%s.%s: inverse method '%s' is not defined", cls._name, name,
                                   tostring(spec.inverse)), cls._name, name)
    end
    if not done[fn] then
      done[fn] = true
      local okf, e = pcall(fn, recs)
      if not okf then rethrow(e, cls, "inverse of " .. name) end
    end
  end
end

-- ---------------------------------------------------------------------
-- search methods: a leaf on a non-stored computed field given `search`
-- becomes the domain the method returns (on stored fields)

-- A domain with its top-level AND made explicit, so it can stand as one
-- term inside another domain. Malformed input is left to the domain
-- parser's own errors.
local function as_term(dom)
  local terms, need = 0, 0
  for _, x in ipairs(dom) do
    if need == 0 then terms = terms + 1; need = 1 end
    if x == "&" or x == "|" then need = need + 1
    elseif x ~= "!" then need = need - 1 end
  end
  if terms == 0 then return { { "id", "!=", core.null } } end -- no leaf: every record
  local out = {}
  for _ = 2, terms do out[#out + 1] = "&" end
  for _, x in ipairs(dom) do out[#out + 1] = x end
  return out
end

local MAX_SEARCH_DEPTH = 16

local function rewrite_domain(self, cls, dom, depth)
  if type(dom) ~= "table" or (next(cls._searchables) == nil and not delegation.any) then
    return dom
  end
  local out, changed = {}, false
  for _, item in ipairs(dom) do
    if delegation.any and type(item) == "table" and not core.is_recordset(item) and
       item ~= core.null and type(item[1]) == "string" then
      local leaf = delegation.leaf(cls, item, state_of) -- a parent's field: its path
      if leaf ~= item then item, changed = leaf, true end
    end
    local spec = type(item) == "table" and not core.is_recordset(item) and item ~= core.null and
                 type(item[1]) == "string" and cls._searchables[item[1]]
    if spec then
      local name = item[1]
      if depth >= MAX_SEARCH_DEPTH then
        fail("ELIMIT", string.format("%s.%s: search methods call each other more than %d deep",
                                     cls._name, name, MAX_SEARCH_DEPTH), cls._name, name)
      end
      local fn = type(spec.search) == "function" and spec.search or cls._class[spec.search]
      if type(fn) ~= "function" then
        fail("EINVAL", string.format("%s.%s: search method '%s' is not defined", cls._name, name,
                                     tostring(spec.search)), cls._name, name)
      end
      local ok, sub = pcall(fn, core.browse(self, {}), item[2], item[3])
      if not ok then rethrow(sub, cls, "search method of " .. name) end
      if type(sub) ~= "table" or core.is_recordset(sub) then
        fail("EINVAL", string.format("%s.%s: the search method must return a domain (a list), got a %s",
                                     cls._name, name, type(sub)), cls._name, name)
      end
      for _, x in ipairs(as_term(rewrite_domain(self, cls, sub, depth + 1))) do out[#out + 1] = x end
      changed = true
    else
      out[#out + 1] = item
    end
  end
  return changed and out or dom
end
M.rewrite_domain = function(self, dom) return rewrite_domain(self, class_of(self), dom, 0) end

local function has_handlers(cls, a, b)
  local x, y = cls._handlers[a], cls._handlers[b]
  return (x and #x > 0) or (y and #y > 0)
end

-- ---------------------------------------------------------------------
-- x2many values: commands as Odoo's Command (see earnorm.command)

local CREATE, UPDATE, DELETE, UNLINK, LINK, CLEAR, SET = 0, 1, 2, 3, 4, 5, 6

local function as_id(x, cls, name)
  if core.is_recordset(x) then
    if #x ~= 1 then
      fail("EINVAL", string.format("%s.%s: a command takes one record, got %s", cls._name, name,
                                   tostring(x)), cls._name, name)
    end
    return x.id
  end
  if math.type(x) == "integer" or type(x) == "string" then return x end
  fail("EINVAL", string.format("%s.%s: expected a record or an id, got %s", cls._name, name, type(x)),
       cls._name, name)
end

local function id_list(list, cls, name)
  if core.is_recordset(list) then return list.ids end
  local out = {}
  for i, x in ipairs(list) do out[i] = as_id(x, cls, name) end
  return out
end

--- The commands a value stands for: a recordset or a list of ids is SET,
-- orm.null / false / {} is CLEAR, a list of {op, id, value} is itself.
local function commands_of(value, cls, name)
  if value == core.null or value == false then return { { CLEAR, 0, 0 } } end
  if core.is_recordset(value) then return { { SET, 0, value.ids } } end
  if type(value) ~= "table" then
    fail("EINVAL", string.format("%s.%s: expected records, a list of ids or commands, got %s",
                                 cls._name, name, type(value)), cls._name, name)
  end
  if #value == 0 then return { { CLEAR, 0, 0 } } end
  local first = value[1]
  if type(first) == "table" and not core.is_recordset(first) then
    for i, c in ipairs(value) do
      if type(c) ~= "table" or math.type(c[1]) ~= "integer" or c[1] < 0 or c[1] > 6 then
        fail("EINVAL", string.format("%s.%s: item %d is not a command (use orm.Command)", cls._name,
                                     name, i), cls._name, name)
      end
    end
    return value
  end
  return { { SET, 0, id_list(value, cls, name) } }
end

-- Every record linked through x2many `name`, archived ones too: commands
-- replace or clear the links whatever the context hides.
local function linked_ids(rec, name)
  return core.with_context(rec, { active_test = false })[name].ids
end

local function linked(cls, rec, name, recs, event)
  if #recs > 0 then run_handlers(cls, event, rec, name, recs) end
end

-- Apply the commands of x2many field `name` to the single record rec.
local function apply_x2many(cls, rec, name, value)
  local spec = cls._fields[name]
  local env = rec.env
  local comodel = env[spec.comodel]
  for _, c in ipairs(commands_of(value, cls, name)) do
    local op, arg, vals = c[1], c[2], c[3]
    if op == CREATE then
      local v = {}
      for k, x in pairs(vals or {}) do v[k] = x end
      if spec.type == "One2many" then v[spec.inverse] = rec.id end
      local new = comodel:create(v)
      if spec.type == "Many2many" then
        linked(cls, rec, name, core.link(rec, name, { new.id }), "link")
      else
        linked(cls, rec, name, new, "link")
      end
    elseif op == UPDATE then
      comodel:browse(as_id(arg, cls, name)):write(vals or {})
    elseif op == DELETE then
      comodel:browse(as_id(arg, cls, name)):unlink()
    elseif op == UNLINK then
      linked(cls, rec, name, core.unlink_rel(rec, name, { as_id(arg, cls, name) }), "unlink_rel")
    elseif op == LINK then
      linked(cls, rec, name, core.link(rec, name, { as_id(arg, cls, name) }), "link")
    elseif op == CLEAR then
      linked(cls, rec, name, core.unlink_rel(rec, name, linked_ids(rec, name)), "unlink_rel")
    else -- SET
      local want = id_list(vals or {}, cls, name)
      local keep = {}
      for _, id in ipairs(want) do keep[id] = true end
      local drop = {}
      for _, id in ipairs(linked_ids(rec, name)) do
        if not keep[id] then drop[#drop + 1] = id end
      end
      linked(cls, rec, name, core.unlink_rel(rec, name, drop), "unlink_rel")
      linked(cls, rec, name, core.link(rec, name, want), "link")
    end
  end
end

-- Split x2many values off a vals table: returns plain vals (a copy when
-- needed) and the x2many part, or nil when there is none.
local function split_x2many(cls, vals)
  if next(cls._x2many) == nil then return vals, nil end
  local rel
  for name in pairs(cls._x2many) do
    if vals[name] ~= nil then
      rel = rel or {}
      rel[name] = vals[name]
    end
  end
  if not rel then return vals, nil end
  local plain = {}
  for k, v in pairs(vals) do
    if rel[k] == nil then plain[k] = v end
  end
  return plain, rel
end

--- The context's default_<field> keys for a create on recordset self,
-- as Odoo has them: { field = value }, or nil when there are none. Read
-- from the recordset's own context (with_context); a key naming no field
-- of the model is an error naming it, and so is one in env.context, which
-- every model shares.
function M.context_defaults(self, cls, method)
  local env = self.env
  for k in pairs(env and env.context or {}) do
    if type(k) == "string" and k:sub(1, 8) == "default_" then
      fail("EINVAL", string.format("%s: %s: env.context key '%s': default_<field> keys belong in "
        .. "the context of the model's records (env[\"%s\"]:with_context{ %s = ... }); "
        .. "env.context is shared by every model", cls._name, method, k, cls._name, k), cls._name)
    end
  end
  local out
  for k, v in pairs(core.context(self) or {}) do
    if type(k) == "string" and k:sub(1, 8) == "default_" then
      local name = k:sub(9)
      if not cls._fields[name] then
        local close = core.closest(name, cls._field_order)
        fail("EINVAL", string.format("%s: %s: context key '%s': no field '%s'%s", cls._name, method,
          k, name, close and string.format(" (did you mean 'default_%s'?)", close) or ""),
          cls._name)
      end
      out = out or {}
      out[name] = v
    end
  end
  return out
end

--- create(vals) or create{ vals1, vals2, ... }: one batch, atomic.
-- Returns the new records.
function R:create(vals)
  local cls = class_of(self)
  if type(vals) ~= "table" or core.is_recordset(vals) then
    fail("EINVAL", cls._name .. ": create expects a table of values or a list of them, got a " ..
         type(vals), cls._name)
  end
  local list = vals
  if vals[1] == nil then list = { vals } end
  for i, v in ipairs(list) do
    if type(v) ~= "table" or core.is_recordset(v) or v == core.null then
      fail("EINVAL", string.format("%s: create: item %d must be a table of values, got a %s",
                                   cls._name, i, type(v)), cls._name)
    end
  end
  local ctxd = M.context_defaults(self, cls, "create")
  if ctxd then
    -- a value given wins over the context's, which wins over the field's default
    local copy = {}
    for i, v in ipairs(list) do
      local c = {}
      for k, x in pairs(v) do c[k] = x end
      for k, x in pairs(ctxd) do
        if c[k] == nil then c[k] = x end
      end
      copy[i] = c
    end
    list = copy
  end
  if cls._inherits then
    -- the parents first (earnorm.delegation), then create_list
    return delegation.create(self, cls, list, function(own) return M.create_list(self, cls, own) end,
                             atomic)
  end
  return M.create_list(self, cls, list)
end

--- The create of checked values (R:create; the children of a delegation).
function M.create_list(self, cls, list)
  if next(cls._default_fns) ~= nil then
    local copy = {}
    for i, v in ipairs(list) do
      local c = {}
      for k, x in pairs(v) do c[k] = x end
      for name, fn in pairs(cls._default_fns) do
        if c[name] == nil then
          local d = fn(self)
          core.check_default(self, name, d)
          c[name] = d
        end
      end
      copy[i] = c
    end
    list = copy
  end
  list = properties.prepare_create(self, cls, list)
  local invs
  if next(cls._inverses) ~= nil then
    local plain = {}
    for i, v in ipairs(list) do
      local p, inv = split_inverse(cls, v)
      plain[i] = p
      if inv then
        invs = invs or {}
        invs[i] = inv
      end
    end
    if invs then list = plain end
  end
  local rels
  if next(cls._x2many) ~= nil then
    local plain = {}
    for i, v in ipairs(list) do
      local p, rel = split_x2many(cls, v)
      plain[i] = p
      if rel then
        rels = rels or {}
        rels[i] = rel
      end
    end
    if rels then list = plain end
  end
  if not rels and not invs and not has_handlers(cls, "before_create", "after_create") and
     not core.deps_watched(self) then
    return core.create(self, list)
  end
  return atomic(self, function()
    run_handlers(cls, "before_create", self, list)
    local recs = core.create(self, list)
    if rels then
      for i, rel in pairs(rels) do
        local rec = recs[i]
        for name, value in pairs(rel) do apply_x2many(cls, rec, name, value) end
      end
    end
    if invs then
      for i, inv in pairs(invs) do apply_inverse(cls, recs[i], inv) end
    end
    M.flush_marks(recs)
    run_handlers(cls, "after_create", recs, list)
    return recs
  end)
end

--- Write the same values on every record. Atomic.
function R:write(vals)
  local cls = class_of(self)
  if type(vals) ~= "table" or core.is_recordset(vals) or vals == core.null then
    fail("EINVAL", cls._name .. ": write expects a table of field values, got a " .. type(vals),
         cls._name)
  end
  if #self == 0 then return true end
  if cls._delegated and delegation.write(self, cls, vals, atomic) then return true end
  local groups = properties.prepare_write(self, cls, vals)
  if groups and #groups > 1 then
    -- one definition per write (earnorm.properties)
    atomic(self, function()
      for _, g in ipairs(groups) do g.recs:write(g.vals) end
    end)
    return true
  elseif groups then
    vals = groups[1].vals
  end
  local direct, inv = split_inverse(cls, vals)
  local plain, rel = split_x2many(cls, direct)
  if not rel and not inv and not has_handlers(cls, "before_write", "after_write") and
     not core.deps_watched(self, vals) then
    core.write(self, vals)
    return true
  end
  atomic(self, function()
    run_handlers(cls, "before_write", self, vals)
    if next(plain) ~= nil then core.write(self, plain) end
    if inv then apply_inverse(cls, self, inv) end
    if rel then
      for rec in core.each(self) do
        for name, value in pairs(rel) do apply_x2many(cls, rec, name, value) end
      end
    end
    M.flush_marks(self)
    run_handlers(cls, "after_write", self, vals)
  end)
  return true
end

--- Delete the records (and apply ondelete rules). Atomic.
function R:unlink()
  local cls = class_of(self)
  if #self == 0 then return true end
  if not has_handlers(cls, "before_unlink", "after_unlink") and not core.deps_watched(self) then
    core.unlink(self)
    return true
  end
  atomic(self, function()
    run_handlers(cls, "before_unlink", self)
    core.unlink(self)
    M.flush_marks(self)
    run_handlers(cls, "after_unlink", self)
  end)
  return true
end

--- search(domain, { order =, limit =, offset = }) -> records
function R:search(domain, opts)
  check_domain(self, "search", domain)
  opts = check_opts(self, "search", opts)
  domain = M.rewrite_domain(self, domain)
  local order = opts.order
  if order ~= nil then order = delegation.order(class_of(self), order, state_of) end
  local recs = core.search(self, domain or {}, order, opts.limit, opts.offset)
  if opts.prefetch then recs:prefetch(opts.prefetch) end
  return recs
end

--- search_iter(domain, { batch = 1000, order =, limit =, offset =, batches = })
-- -> the values of a generic for: `for rec in P:search_iter(domain) do`.
-- Streams the records search() would give through a server-side cursor,
-- `batch` ids per round trip; each batch is one recordset (its records
-- prefetch within it), and moving to the next batch forgets the values
-- of the previous one, so memory stays bounded whatever the count. The
-- loop's closing value is the cursor: ending, `break` and errors close it.
-- With batches = true the loop gets the batch recordsets themselves.
function R:search_iter(domain, opts)
  check_domain(self, "search_iter", domain)
  opts = check_opts(self, "search_iter", opts)
  local batch = opts.batch
  if batch == nil then
    batch = 1000
  elseif math.type(batch) ~= "integer" or batch < 1 then
    arg_error(self, "search_iter", "batch must be a positive integer, got " .. tostring(batch))
  end
  if opts.batches ~= nil and type(opts.batches) ~= "boolean" then
    arg_error(self, "search_iter", "batches must be a boolean, got a " .. type(opts.batches))
  end
  domain = M.rewrite_domain(self, domain)
  local order = opts.order
  if order ~= nil then order = delegation.order(class_of(self), order, state_of) end
  local cur = core.cursor_open(self, domain or {}, order, opts.limit, opts.offset, batch,
                               opts.batches)
  return core.cursor_step, cur, nil, cur
end

-- Load the stored fields of recs (one query per prefetch window): any
-- prefetchable stored field brings the others along.
local function load_records(recs)
  local cls = class_of(recs)
  for _, n in ipairs(cls._field_order) do
    local s = cls._fields[n]
    if not cls._x2many[n] and (not s.compute or s.store) and s.prefetch ~= false and
       s.type ~= "Binary" then
      core.prefetch(recs, n)
      return
    end
  end
end

--- Load fields and relations along paths for every record now, in one
-- query per step: recs:prefetch{ "partner_id.country_id", "tag_ids" }.
function R:prefetch(paths)
  if type(paths) == "string" then paths = { paths } end
  if type(paths) ~= "table" then
    fail("EINVAL", "prefetch expects a list of field paths", core.model_name(self))
  end
  for _, path in ipairs(paths) do
    local recs = self
    for seg in tostring(path):gmatch("[^.]+") do
      if #recs == 0 then break end
      local nextrecs = core.prefetch(recs, seg)
      if nextrecs == nil then recs = nil; break end
      recs = nextrecs
    end
    -- a path ending on a relation loads the records it reaches too
    if recs and recs ~= self and #recs > 0 then load_records(recs) end
  end
  return self
end

function R:search_count(domain, opts)
  check_domain(self, "search_count", domain)
  check_opts(self, "search_count", opts)
  domain = M.rewrite_domain(self, domain)
  return core.search_count(self, domain or {})
end

local function needs_records(cls, names)
  for _, n in ipairs(names) do
    local s = cls._fields[n]
    if s and ((s.compute and not s.store) or cls._x2many[n]) then return true end
  end
  return false
end

local function ensure_computed(self, names)
  local cls = class_of(self)
  for _, n in ipairs(names) do
    local s = cls._fields[n]
    if s and s.compute and not s.store then
      local missing = core.uncached(self, n)
      if #missing > 0 then M.compute_missing(missing, n) end
    end
  end
end

-- Split dotted names ("parent_id.name") off a field list: the plain list
-- (with the paths' first fields added) and the paths, or nil.
local function split_paths(names)
  local plain, paths, extra = {}, nil, nil
  local have = {}
  for _, n in ipairs(names) do
    if type(n) == "string" and n:find(".", 1, true) then
      paths = paths or {}
      paths[#paths + 1] = n
    else
      plain[#plain + 1] = n
      have[n] = true
    end
  end
  if not paths then return names, nil, nil end
  for _, path in ipairs(paths) do
    local head = path:match("^[^.]+")
    if not have[head] then
      plain[#plain + 1] = head
      have[head] = true
      extra = extra or {}
      extra[head] = true
    end
  end
  return plain, paths, extra
end

local function fill_paths(self, rows, paths, extra, nulls)
  for _, path in ipairs(paths) do core.fill_related(self, rows, path) end
  for _, row in ipairs(rows) do
    if extra then
      for head in pairs(extra) do row[head] = nil end
    end
    if nulls then
      for _, path in ipairs(paths) do
        if row[path] == nil then row[path] = core.null end
      end
    end
  end
  return rows
end

--- search_read(domain, { fields =, order =, limit =, offset =, nulls = }) -> list of tables.
-- A field may be a Many2one path ("parent_id.name"): its value comes under
-- that key, one load per step for all rows. A NULL value leaves its key
-- out (it reads as nil); with nulls = true it is orm.null instead, so
-- every row has every field asked for.
function R:search_read(domain, opts)
  check_domain(self, "search_read", domain)
  opts = check_opts(self, "search_read", opts)
  domain = M.rewrite_domain(self, domain)
  check_names(self, "search_read", opts.fields, "fields")
  local cls = class_of(self)
  local fields, paths, extra = opts.fields, nil, nil
  if fields then fields, paths, extra = split_paths(fields) end
  -- x2many and non-stored computed fields are read through the records
  if needs_records(cls, fields or cls._field_order) then
    return self:search(domain, { order = opts.order, limit = opts.limit, offset = opts.offset })
               :read(opts.fields, { nulls = opts.nulls })
  end
  local rows = core.search_read(self, domain or {}, fields, delegation.order(cls, opts.order, state_of),
                                opts.limit, opts.offset,
                                opts.nulls and true or false)
  if paths then fill_paths(self, rows, paths, extra, opts.nulls) end
  return rows
end

--- read({ "name", "age", "parent_id.name" }, { nulls = }) -> list of tables
-- (all fields when nil; nulls as in search_read)
function R:read(names, opts)
  check_names(self, "read", names, "the field list")
  opts = check_opts(self, "read", opts)
  local cls = class_of(self)
  names = names or cls._field_order
  local plain, paths, extra = split_paths(names)
  ensure_computed(self, plain)
  local rows = core.read(self, plain, opts.nulls and true or false)
  if paths then fill_paths(self, rows, paths, extra, opts.nulls) end
  return rows
end

--- read_group(domain, { "kind", "age:avg", "total:sum(age)" }, { "kind" }, opts)
-- opts.orderby (or order): group keys, aggregate names or __count, each
-- with asc/desc ("__count desc, kind"); limit, offset.
function R:read_group(domain, fields, groupby, opts)
  check_domain(self, "read_group", domain)
  opts = check_opts(self, "read_group", opts)
  domain = M.rewrite_domain(self, domain)
  if type(groupby) == "string" then groupby = { groupby } end
  check_names(self, "read_group", fields, "fields")
  check_names(self, "read_group", groupby, "groupby")
  local orderby = opts.orderby or opts.order
  if orderby ~= nil and type(orderby) ~= "string" then
    arg_error(self, "read_group", "orderby must be a string like \"__count desc\", got a " ..
              type(orderby))
  end
  return core.read_group(self, domain or {}, fields or {}, groupby or {}, orderby,
                         opts.limit, opts.offset)
end

function R:browse(ids)
  local t = type(ids)
  if not (ids == nil or t == "table" or t == "string" or math.type(ids) == "integer" or
          core.is_recordset(ids)) then
    arg_error(self, "browse", "expected an id, a list of ids or a recordset, got a " ..
              (math.type(ids) == "float" and "float" or t))
  end
  return core.browse(self, ids)
end
function R:exists() return core.exists(self) end
function R:each() return core.each(self) end

function R:ensure_one()
  if #self ~= 1 then
    fail("EINVAL", string.format("expected a single record, got %s", tostring(self)),
         core.model_name(self))
  end
  return self
end

-- The values at `path` inside Embedded / List values (a List's elements
-- flattened), nil values left out.
local EMB, LIST = "earnorm.Embedded", "earnorm.EmbeddedList"
local mapped_sub
mapped_sub = function(vals, path)
  local seg, rest = path:match("^([^.]+)%.(.+)$")
  seg = seg or path
  local out = {}
  local function add(x)
    local v = x[seg]
    if v == nil or v == core.null then return end
    if rest then
      local mt = getmetatable(v)
      if mt ~= EMB and mt ~= LIST then
        fail("EINVAL", string.format("mapped: '%s' is not an Embedded or List value: it has no fields to follow (in '%s')",
                                     seg, path))
      end
      out[#out + 1] = v
    else
      out[#out + 1] = v
    end
  end
  for _, v in ipairs(vals) do
    if getmetatable(v) == LIST then
      for i = 1, #v do add(v[i]) end
    else
      add(v)
    end
  end
  if rest then return mapped_sub(out, rest) end
  return out
end

--- mapped("field"), mapped("rel.field"), mapped(function(rec) ... end)
-- Relational fields give a recordset (duplicates removed); other fields a
-- list of values with nil values left out.
function R:mapped(what)
  if type(what) == "function" then
    local out = {}
    for rec in core.each(self) do out[#out + 1] = what(rec) end
    return out
  end
  if type(what) ~= "string" then
    fail("EINVAL", "mapped expects a field name or a function", core.model_name(self))
  end
  local head, rest = what:match("^([^.]+)%.(.+)$")
  if head then
    local cls = class_of(self)
    local spec = cls._fields[head]
    local t = spec and spec.type
    if t == "Many2one" or t == "One2many" or t == "Many2many" then
      return core.mapped(self, head):mapped(rest)
    end
    if t == "Embedded" or t == "List" then
      return mapped_sub(core.mapped(self, head), rest)
    end
    if spec == nil then core.mapped(self, head) end  -- names the unknown field
    fail("EINVAL", string.format("%s: '%s' is a %s field, not a relation: it has no fields to follow (in '%s')",
                                 cls._name, head, tostring(t), what), cls._name, head)
  end
  if what == "display_name" and not class_of(self)._fields.display_name then
    local out = {}
    for rec in core.each(self) do out[#out + 1] = rec.display_name end
    return out
  end
  return core.mapped(self, what)
end

--- filtered(function(rec) ... end), filtered("field") or filtered("rel.field"):
-- records for which it is truthy; a path is when any value at its end is
-- (the path is loaded for all records first, one query per step).
function R:filtered(what, ...)
  local keep = {}
  local i = 0
  if select("#", ...) > 0 then
    arg_error(self, "filtered", string.format("unexpected argument #2 (a %s): it takes (function or path)",
                                              type((...))))
  end
  if type(what) ~= "string" and type(what) ~= "function" then
    arg_error(self, "filtered", "expected a function or a field name, got a " .. type(what))
  end
  if type(what) == "string" and what:find(".", 1, true) then
    local path = what
    self:prefetch(path)
    what = function(rec)
      local v = rec:mapped(path)
      if core.is_recordset(v) then return #v > 0 end
      for _, x in ipairs(v) do
        if x and x ~= core.null then return true end
      end
      return false
    end
  elseif type(what) == "string" then
    local name = what
    what = function(rec) return rec[name] end
  end
  for rec in core.each(self) do
    i = i + 1
    local v = what(rec)
    if v and v ~= core.null and not (core.is_recordset(v) and #v == 0) then
      keep[#keep + 1] = i
    end
  end
  return core.pick(self, keep)
end

--- The records that match a domain, in this recordset's order (one query).
function R:filtered_domain(domain)
  check_domain(self, "filtered_domain", domain)
  return core.filtered_domain(self, M.rewrite_domain(self, domain) or {})
end

--- sorted() by the model's order, sorted("age desc, name"),
-- sorted(function(rec) return key end), each with reverse.
function R:sorted(key, reverse)
  if key ~= nil and type(key) ~= "string" and type(key) ~= "function" then
    arg_error(self, "sorted", "expected an order (\"age desc, name\") or a key function, got a " ..
              type(key))
  end
  if type(key) == "function" then
    local items, i = {}, 0
    for rec in core.each(self) do
      i = i + 1
      items[i] = { k = key(rec), i = i }
    end
    table.sort(items, function(a, b)
      if a.k == b.k then return a.i < b.i end
      if reverse then return a.k > b.k end
      return a.k < b.k
    end)
    local pos = {}
    for j, it in ipairs(items) do pos[j] = it.i end
    return core.pick(self, pos)
  end
  local cls = class_of(self)
  local text = key or cls._class._order or "id"
  if cls._delegated or text:find(".", 1, true) then
    local by = delegation.sorted(self, cls, text, reverse) -- paths and delegated fields
    if by then return by end
  end
  return core.sorted(self, key, reverse and true or false)
end

--- Copy each record (stored, copyable fields), overriding with `default`.
function R:copy(default)
  if default ~= nil and (type(default) ~= "table" or core.is_recordset(default)) then
    arg_error(self, "copy", "expected a table of values to override, got a " .. type(default))
  end
  local cls = class_of(self)
  local names = {}
  for _, n in ipairs(cls._field_order) do
    local s = cls._fields[n]
    -- Many2many links are copied, One2many children are not (they belong to the original)
    if s.copy ~= false and not s.compute and s.type ~= "One2many" then
      names[#names + 1] = n
    end
  end
  -- delegation: a copy gets a parent of its own, made of the delegated values
  if cls._inherits then
    names = delegation.copy_names(cls, names, default)
    ensure_computed(self, names)
  end
  local rows = core.read(self, names)
  local list = {}
  for i, row in ipairs(rows) do
    row.id = nil
    for k, v in pairs(default or {}) do row[k] = v end
    for _, n in ipairs(names) do
      local s = cls._fields[n]
      if s.type == "Many2one" and core.is_recordset(row[n]) then
        row[n] = #row[n] > 0 and row[n].id or core.null
      end
    end
    list[i] = row
  end
  if #list == 0 then return core.browse(self, {}) end
  return self:browse({}):create(list)
end

--- A recordset of the same records carrying a context (self._context).
function R:with_context(ctx)
  if ctx ~= nil and (type(ctx) ~= "table" or core.is_recordset(ctx)) then
    arg_error(self, "with_context", "expected a table, got a " .. type(ctx))
  end
  local merged = {}
  for k, v in pairs(core.context(self) or {}) do merged[k] = v end
  for k, v in pairs(ctx or {}) do merged[k] = v end
  return core.with_context(self, merged)
end

return M
