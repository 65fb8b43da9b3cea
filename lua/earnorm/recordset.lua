--- Recordset methods. A recordset is C userdata (a model and an array of
-- ids); field values live in the C record store and are read on access.
-- This module holds the methods written in Lua: the ones that run user
-- code (events, compute methods, validators) around the C operations.
local core = require "earnorm.core"
local errors = require "earnorm.errors"

local R = {}
local M = { methods = R }

local function fail(code, msg, model, field)
  error(core.new_error(code, msg, model, field), 3)
end

local function atomic(self, fn, ...)
  local c = core.cenv(self)
  core.begin(c, 0)
  local res = table.pack(pcall(fn, ...))
  if res[1] then
    core.commit(c)
    return table.unpack(res, 2, res.n)
  end
  core.rollback(c)
  error(res[2], 0)
end

local function run_handlers(cls, event, ...)
  local list = cls._handlers[event]
  if not list or #list == 0 then return end
  -- a handler may unregister itself: iterate over a copy
  for _, h in ipairs({ table.unpack(list) }) do
    local ok, err = pcall(h, ...)
    if not ok then error(errors.wrap(err, cls._name, event .. " handler"), 0) end
  end
end

local function compute_fn(cls, name)
  local spec = cls._fields[name]
  local c = spec.compute
  local fn = type(c) == "function" and c or cls[c]
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
  if not ok then error(errors.wrap(err, cls._name, "compute of " .. name), 0) end
end

--- Compute non-stored fields for records that lack them (called by C on
-- a read, and by read()).
function M.compute_missing(recs, name)
  local cls = core.class(recs)
  call_compute(cls, recs, compute_fn(cls, name), name)
end
core.set_compute_hook(M.compute_missing)

--- Recompute stored computed fields `names` on recs and write them.
function M.recompute(recs, names)
  local cls = core.class(recs)
  local done = {}
  for _, name in ipairs(names) do
    local fn = compute_fn(cls, name)
    core.invalidate(recs, name)
    if not done[fn] then
      call_compute(cls, recs, fn, name)
      done[fn] = true
    end
    core.flush_computed(recs, name)
  end
end

local function stored_dependents(cls, vals)
  local out = {}
  for _, name in ipairs(cls._stored_computes) do
    for _, dep in ipairs(cls._fields[name].depends or {}) do
      local head = dep:match("^[^.]+")
      if vals[head] ~= nil then out[#out + 1] = name; break end
    end
  end
  return out
end

local function check_constraints(cls, recs, vals)
  for _, c in ipairs(cls._constraints) do
    local touched = vals == nil
    if not touched then
      for k in pairs(vals) do if c.fields[k] then touched = true; break end end
    end
    if touched then
      local ok, err = pcall(c.fn, recs)
      if not ok then
        local e = errors.wrap(err, cls._name, "constraint on " .. table.concat(c.names, ", "))
        if e.code == "EVALIDATE" and (e.field == nil or e.field == "") and #c.names == 1 then
          e.field = c.names[1]
        end
        error(e, 0)
      end
    end
  end
end

local function has_handlers(cls, a, b)
  local x, y = cls._handlers[a], cls._handlers[b]
  return (x and #x > 0) or (y and #y > 0)
end

--- create(vals) or create{ vals1, vals2, ... }: one batch, atomic.
-- Returns the new records.
function R:create(vals)
  local cls = core.class(self)
  if type(vals) ~= "table" or core.is_recordset(vals) then
    fail("EINVAL", cls._name .. ": create expects a table of values or a list of them", cls._name)
  end
  local list = vals
  if vals[1] == nil then list = { vals } end
  if next(cls._default_fns) ~= nil then
    local copy = {}
    for i, v in ipairs(list) do
      local c = {}
      for k, x in pairs(v) do c[k] = x end
      for name, fn in pairs(cls._default_fns) do
        if c[name] == nil then c[name] = fn(self) end
      end
      copy[i] = c
    end
    list = copy
  end
  if not has_handlers(cls, "before_create", "after_create") and #cls._constraints == 0 and
     #cls._stored_computes == 0 then
    return core.create(self, list)
  end
  return atomic(self, function()
    run_handlers(cls, "before_create", self, list)
    local recs = core.create(self, list)
    if #cls._stored_computes > 0 then M.recompute(recs, cls._stored_computes) end
    check_constraints(cls, recs, nil)
    run_handlers(cls, "after_create", recs, list)
    return recs
  end)
end

--- Write the same values on every record. Atomic.
function R:write(vals)
  local cls = core.class(self)
  if type(vals) ~= "table" or core.is_recordset(vals) then
    fail("EINVAL", cls._name .. ": write expects a table of field values", cls._name)
  end
  if #self == 0 then return true end
  local deps = stored_dependents(cls, vals)
  if not has_handlers(cls, "before_write", "after_write") and #cls._constraints == 0 and
     #deps == 0 then
    core.write(self, vals)
    return true
  end
  atomic(self, function()
    run_handlers(cls, "before_write", self, vals)
    core.write(self, vals)
    if #deps > 0 then M.recompute(self, deps) end
    check_constraints(cls, self, vals)
    run_handlers(cls, "after_write", self, vals)
  end)
  return true
end

--- Delete the records (and apply ondelete rules). Atomic.
function R:unlink()
  local cls = core.class(self)
  if #self == 0 then return true end
  if not has_handlers(cls, "before_unlink", "after_unlink") then
    core.unlink(self)
    return true
  end
  atomic(self, function()
    run_handlers(cls, "before_unlink", self)
    core.unlink(self)
    run_handlers(cls, "after_unlink", self)
  end)
  return true
end

--- search(domain, { order =, limit =, offset = }) -> records
function R:search(domain, opts)
  opts = opts or {}
  return core.search(self, domain or {}, opts.order, opts.limit, opts.offset)
end

function R:search_count(domain)
  return core.search_count(self, domain or {})
end

local function needs_records(cls, names)
  for _, n in ipairs(names) do
    local s = cls._fields[n]
    if s and s.compute and not s.store then return true end
  end
  return false
end

local function ensure_computed(self, names)
  local cls = core.class(self)
  for _, n in ipairs(names) do
    local s = cls._fields[n]
    if s and s.compute and not s.store then
      local missing = core.uncached(self, n)
      if #missing > 0 then M.compute_missing(missing, n) end
    end
  end
end

--- search_read(domain, { fields =, order =, limit =, offset = }) -> list of tables
function R:search_read(domain, opts)
  opts = opts or {}
  local cls = core.class(self)
  if opts.fields and needs_records(cls, opts.fields) then
    return self:search(domain, opts):read(opts.fields)
  end
  return core.search_read(self, domain or {}, opts.fields, opts.order, opts.limit, opts.offset)
end

--- read({ "name", "age" }) -> list of tables (all fields when nil)
function R:read(names)
  local cls = core.class(self)
  names = names or cls._field_order
  ensure_computed(self, names)
  return core.read(self, names)
end

--- read_group(domain, { "kind", "age:avg", "total:sum(age)" }, { "kind" }, opts)
function R:read_group(domain, fields, groupby, opts)
  opts = opts or {}
  if type(groupby) == "string" then groupby = { groupby } end
  return core.read_group(self, domain or {}, fields or {}, groupby or {}, opts.orderby or opts.order,
                         opts.limit, opts.offset)
end

function R:browse(ids) return core.browse(self, ids) end
function R:exists() return core.exists(self) end
function R:each() return core.each(self) end

function R:ensure_one()
  if #self ~= 1 then
    fail("EINVAL", string.format("expected a single record, got %s", tostring(self)),
         core.model_name(self))
  end
  return self
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
  if head then return core.mapped(self, head):mapped(rest) end
  return core.mapped(self, what)
end

--- filtered(function(rec) ... end) or filtered("field"): records for which it is truthy.
function R:filtered(what)
  local keep = {}
  local i = 0
  if type(what) == "string" then
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
  return core.filtered_domain(self, domain or {})
end

--- sorted() by the model's order, sorted("age desc, name"),
-- sorted(function(rec) return key end), each with reverse.
function R:sorted(key, reverse)
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
  return core.sorted(self, key, reverse and true or false)
end

--- Copy each record (stored, copyable fields), overriding with `default`.
function R:copy(default)
  local cls = core.class(self)
  local names = {}
  for _, n in ipairs(cls._field_order) do
    local s = cls._fields[n]
    if s.copy ~= false and not s.compute and s.type ~= "One2many" and s.type ~= "Many2many" then
      names[#names + 1] = n
    end
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
  local merged = {}
  for k, v in pairs(core.context(self) or {}) do merged[k] = v end
  for k, v in pairs(ctx or {}) do merged[k] = v end
  return core.with_context(self, merged)
end

return M
