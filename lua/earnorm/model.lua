--- Model declaration: orm.model(name, spec) registers a model's metadata in
-- C and returns its class, a table where methods are defined:
--
--   local Partner = orm.model("res.partner", { name = f.Char{}, ... })
--   function Partner:greet() return "hi " .. self.name end
--   Partner:constrains({ "age" }, function(recs) ... end)
--   Partner:on("before_create", function(model, vals_list) ... end)
--
-- Attributes: _description, _order, _rec_name, _parent_name, _inherit
-- (extend a model in place when the names match, otherwise start a new
-- model from a copy of the parent's fields and methods), _abstract.
--
-- What the ORM keeps of a class (its fields, handlers, constraints...)
-- lives in Recordset.class_state; the class shows it as read-only views
-- (_fields, _handlers, ...), since model code reaches the class's keys of
-- every model through its records. The class API (on, off, constrains)
-- works on the class itself only, never on records or on the read-only
-- view of a class another model file declared.
local core = require "earnorm.core"
local fields = require "earnorm.fields"
local Recordset = require "earnorm.recordset"
require "earnorm.conveniences" -- adds its methods to Recordset.methods (Guarded below)
local history = require "earnorm.history"

local M = {}

local class_state = Recordset.class_state

--- At most this many handlers per event and model (a model that registers
-- without end would make every later operation run them all).
M.MAX_HANDLERS = 1000

--- Every declared model's class, by name.
M.registry = {}

local ATTRS = { _description = true, _order = true, _rec_name = true, _parent_name = true,
                _inherit = true, _abstract = true, _table = true,
                _log_access = true, _version = true, _history = true } -- earnorm.history
local EVENTS = { before_create = true, after_create = true, before_write = true,
                 after_write = true, before_unlink = true, after_unlink = true,
                 link = true, unlink_rel = true }

local ClassAPI = {}

-- The ORM's state of the class `self` a class API method was called on.
local function state_of(self, method)
  local S = class_state[self]
  if S then return S end
  local name = "?"
  if core.is_recordset(self) then
    name = core.model_name(self)
  elseif type(self) == "table" and type(self._name) == "string" then
    name = self._name
  end
  if core.is_recordset(self) then
    error(core.new_error("EINVAL", string.format(
      "%s: %s() is a model class method, called here on records; call it on the class orm.model returned",
      name, method), name), 3)
  end
  error(core.new_error("EINVAL", string.format(
    "%s: %s(): model %s is read-only in this model file: another file declared it "
    .. "(to extend it, declare it again with _inherit = %q)", name, method, name, name), name), 3)
end

--- Register an event handler: before_create(model, vals_list),
-- after_create(records, vals_list), before_write(records, vals),
-- after_write(records, vals), before_unlink(records), after_unlink(records).
-- An error in a before_ handler aborts the operation: nothing is written.
-- on() takes no options yet: a third argument is refused, not ignored.
function ClassAPI:on(event, fn, opts)
  local S = state_of(self, "on")
  if opts ~= nil then
    local what = "a " .. type(opts)
    if type(opts) == "table" then
      local keys = {}
      for k in pairs(opts) do keys[#keys + 1] = string.format("'%s'", tostring(k)) end
      table.sort(keys)
      what = #keys > 0 and "option " .. table.concat(keys, ", ") or "an empty table"
    end
    error(core.new_error("EINVAL", string.format(
      "%s: on(event, fn) takes no options (got %s as a third argument)", self._name, what),
      self._name), 2)
  end
  if not EVENTS[event] then
    error(core.new_error("EINVAL", string.format("%s: unknown event '%s'", self._name,
                                                 tostring(event)), self._name), 2)
  end
  if type(fn) ~= "function" then
    error(core.new_error("EINVAL", string.format("%s: handler for '%s' must be a function",
                                                 self._name, event), self._name), 2)
  end
  local list = S._handlers[event] or {}
  if #list >= M.MAX_HANDLERS then
    error(core.new_error("ELIMIT", string.format(
      "%s: more than %d handlers for '%s' (the limit per event and model)", self._name,
      M.MAX_HANDLERS, event), self._name), 2)
  end
  list[#list + 1] = fn
  S._handlers[event] = list
  return fn
end

--- Remove a handler registered with on().
function ClassAPI:off(event, fn)
  local list = state_of(self, "off")._handlers[event]
  if not list then return false end
  for i = #list, 1, -1 do
    if list[i] == fn then table.remove(list, i); return true end
  end
  return false
end

--- Add a validator run after create, and after write when one of the
-- fields changed. It receives the records; it raises
-- orm.ValidationError (or any error) to refuse them.
function ClassAPI:constrains(names, fn)
  local S = state_of(self, "constrains")
  if type(names) == "string" then names = { names } end
  if type(names) ~= "table" or type(fn) ~= "function" then
    error(core.new_error("EINVAL", self._name .. ": constrains(fields, fn) needs a list of field names and a function", self._name), 2)
  end
  local set = {}
  for _, n in ipairs(names) do
    -- a dotted path ("partner_id.city") is resolved with the registry
    local head = type(n) == "string" and n:match("^[^.]+") or nil
    if not head or not S._fields[head] then
      error(core.new_error("EINVAL", string.format("%s: constrains names unknown field '%s'",
                                                   self._name, tostring(n)), self._name,
                           type(n) == "string" and n or nil), 2)
    end
    set[n] = true
  end
  M.add_constraint(S, { fields = set, names = names, fn = fn })
  return fn
end

-- Register a constraint with the dependency graph (it runs when one of
-- its fields, dotted paths included, changes, and on create).
function M.add_constraint(S, c)
  local copy = { fields = c.fields, names = c.names, fn = c.fn }
  copy.index = core.add_check(S._name, c.names)
  S._constraints[#S._constraints + 1] = copy
  S._checks[copy.index] = copy
end

-- The class returned by orm.model is not a recordset: calling a recordset
-- method on it (Partner:create{}) says where the records are instead of
-- failing inside the method. Recordsets reach the same methods through
-- the class, so each one checks its receiver and tail-calls the method
-- (a tail call keeps the error levels the methods report).
local Guarded = {}
for k, fn in pairs(Recordset.methods) do
  Guarded[k] = function(self, ...)
    if not core.is_recordset(self) then
      local name = type(self) == "table" and rawget(self, "_name") or "?"
      error(core.new_error("EINVAL", string.format(
        "%s: %s() is a recordset method, called here on the model class; use env[%q]:%s(...)",
        name, k, name, k), name), 2)
    end
    return fn(self, ...)
  end
end
setmetatable(ClassAPI, { __index = Guarded })

-- Names a recordset resolves before its class (rs_index in
-- bindings/lua/recordset.c), so a field cannot take them.
local RECORDSET_KEYS = { id = true, ids = true, env = true, _name = true, _context = true }

local new_class

-- Why `k` cannot name a field, or nil. The names are read from the tables
-- the lookups go through (recordset methods, the class API, a fresh
-- class's own keys, the attributes), so a method added later is covered.
local reserved_probe
local function reserved_why(k)
  if ATTRS[k] then return "is a model attribute" end
  if RECORDSET_KEYS[k] then return "is a recordset property" end
  if Recordset.methods[k] ~= nil then return "is a recordset method" end
  if rawget(ClassAPI, k) ~= nil then return "is a model class method" end
  reserved_probe = reserved_probe or new_class("x")
  if rawget(reserved_probe, k) ~= nil then return "is a key of the model class" end
  return nil
end

local function field_list(name, spec, into)
  -- fields in the order they were written (see fields.lua)
  local list = {}
  for k, v in pairs(spec) do
    local why = type(k) == "string" and fields.is_field(v) and reserved_why(k)
    if why then
      error(core.new_error("EINVAL", string.format(
        "%s.%s: '%s' %s and cannot be a field name", name, k, k, why), name, k), 3)
    elseif type(k) == "string" and k:sub(1, 1) == "_" and ATTRS[k] then
      -- attribute
    elseif fields.is_field(v) then
      list[#list + 1] = { name = k, spec = v }
    else
      error(core.new_error("EINVAL", string.format(
        "%s.%s: expected a field declaration (orm.fields.Char{...} and the like) or a known attribute, got %s",
        name, tostring(k), type(v)), name, type(k) == "string" and k or nil), 3)
    end
  end
  table.sort(list, function(a, b) return a.spec._seq < b.spec._seq end)
  for _, e in ipairs(list) do
    if e.spec.related ~= nil then e.spec = M.related_spec(name, e.name, e.spec) end
    into[#into + 1] = e
  end
  return into
end

--- related = "partner_id.country_id.name": a computed field following the
-- path (its depends), written back through the path's last record (its
-- inverse) unless readonly; stored only with store = true.
function M.related_spec(model, fname, spec)
  local path = spec.related
  local function bad(msg)
    error(core.new_error("EINVAL", string.format("%s.%s: related %s", model, fname, msg), model,
                         fname), 4)
  end
  if type(path) ~= "string" then bad("must be a field path like \"partner_id.name\", got a " .. type(path)) end
  if spec.compute ~= nil or spec.depends ~= nil or spec.inverse ~= nil then
    bad("is a shorthand for compute, depends and inverse: give none of them with it")
  end
  local segs = {}
  for seg in path:gmatch("[^.]+") do segs[#segs + 1] = seg end
  if #segs < 2 or path:find("..", 1, true) or path:sub(1, 1) == "." or path:sub(-1) == "." then
    bad(string.format("\"%s\" must go through a relation (\"partner_id.name\")", path))
  end
  local copy = setmetatable({}, getmetatable(spec))
  for k, v in pairs(spec) do copy[k] = v end
  local relational = spec.type == "Many2one" or spec.type == "One2many" or spec.type == "Many2many"
  copy.depends = { path }
  copy.compute = function(recs)
    for rec in recs:each() do
      local v = rec
      for _, seg in ipairs(segs) do
        if #v == 0 then v = nil; break end
        if #v > 1 then v = v[1] end -- through an x2many: its first record (as Odoo)
        v = v[seg]
        if v == nil then break end
      end
      if v == nil and not relational then v = core.null end
      if v == nil then v = core.null end
      rec[fname] = v
    end
  end
  if not spec.readonly then
    copy.inverse = function(recs)
      local last = segs[#segs]
      for rec in recs:each() do
        local target = rec
        for i = 1, #segs - 1 do
          if #target > 1 then target = target[1] end
          target = target[segs[i]]
          if #target == 0 then break end
        end
        if #target > 0 then
          local v = rec[fname]
          if v == nil then v = core.null end
          if core.is_recordset(v) and spec.type == "Many2one" then v = #v > 0 and v.id or core.null end
          target:write{ [last] = v }
        end
      end
    end
  end
  return copy
end

local function index_fields(cls, list)
  cls = class_state[cls]
  for _, e in ipairs(list) do
    local s = e.spec
    cls._fields[e.name] = s
    cls._field_order[#cls._field_order + 1] = e.name
    if type(s.default) == "function" then cls._default_fns[e.name] = s.default end
    if s.type == "One2many" or s.type == "Many2many" then cls._x2many[e.name] = s end
    if s.compute then
      cls._computes[e.name] = s
      if s.store then cls._stored_computes[#cls._stored_computes + 1] = e.name end
      if s.inverse ~= nil and s.type ~= "One2many" then cls._inverses[e.name] = s end
      if s.search ~= nil then cls._searchables[e.name] = s end
    end
  end
end

local STATE_TABLES = { "_fields", "_field_order", "_handlers", "_constraints", "_checks",
                       "_default_fns", "_computes", "_stored_computes", "_x2many", "_inverses",
                       "_searchables" }

function new_class(name)
  local cls = { _name = name }
  local S = { _name = name, _class = cls }
  for _, k in ipairs(STATE_TABLES) do
    S[k] = {}
    cls[k] = core.readonly(S[k], name .. "." .. k)
  end
  class_state[cls] = S
  return setmetatable(cls, { __index = ClassAPI, __tostring = function() return "model " .. name end })
end

-- The parent named by _inherit: a model name, or a list of one (Odoo's
-- list form). Several parents are refused until multiple inheritance
-- exists, rather than read as a name.
local function inherit_of(name, spec)
  local inh = spec._inherit
  if inh == nil or type(inh) == "string" then return inh end
  local who = type(name) == "string" and name or "orm.model"
  if type(inh) ~= "table" then
    error(core.new_error("EINVAL", string.format(
      "%s: _inherit must be a model name (a string), got a %s", who, type(inh)),
      type(name) == "string" and name or nil), 3)
  end
  local shown, n = {}, 0
  for _ in pairs(inh) do n = n + 1 end
  for i, v in ipairs(inh) do shown[i] = string.format("%q", tostring(v)) end
  if n == 1 and type(inh[1]) == "string" then return inh[1] end
  local why = n == 0 and "names no model"
    or #shown == n and "names several models; inheriting from more than one is not supported yet (name one model)"
    or "must be a model name or a list of one"
  error(core.new_error("EINVAL", string.format("%s: _inherit = { %s } %s", who,
                                               table.concat(shown, ", "), why),
                       type(name) == "string" and name or nil), 3)
end

--- Declare a model (see the module comment). Returns its class.
function M.define(name, spec)
  if type(name) == "table" and spec == nil then
    spec = name
    name = inherit_of(nil, spec)
  end
  if type(name) ~= "string" then
    error(core.new_error("EINVAL", "orm.model(name, spec): the name must be a string like \"res.partner\""), 2)
  end
  spec = spec or {}
  if type(spec) ~= "table" then
    error(core.new_error("EINVAL", name .. ": orm.model's spec must be a table", name), 2)
  end
  local inherit = inherit_of(name, spec)
  local existing = M.registry[name]
  if existing then
    if inherit ~= name then
      error(core.new_error("ECONFLICT", string.format(
        "model %s is already defined (to add fields to it, declare it again with _inherit = %q)",
        name, name), name), 2)
    end
    -- extension in place: new fields, same class
    local list = field_list(name, spec, {})
    local auto = history.declare(name, spec, list, nil, existing)
    core.define_model(name, spec, list, existing)
    index_fields(existing, list)
    history.attach(existing, auto)
    return existing
  end
  local cls = new_class(name)
  local list = {}
  local inherited_constraints
  if inherit then
    local parent = M.registry[inherit]
    if not parent then
      error(core.new_error("ENOTFOUND", string.format("%s: _inherit names unknown model %s",
                                                      name, tostring(inherit)), name), 2)
    end
    -- a new model starting from the parent's fields and methods
    local PS, S = class_state[parent], class_state[cls]
    for _, fname in ipairs(PS._field_order) do
      if spec[fname] == nil then list[#list + 1] = { name = fname, spec = PS._fields[fname] } end
    end
    for k, v in pairs(parent) do
      if type(v) == "function" then cls[k] = v end
    end
    inherited_constraints = PS._constraints
    for ev, hs in pairs(PS._handlers) do
      S._handlers[ev] = { table.unpack(hs) }
    end
    local attrs = {}
    for k, v in pairs(spec) do attrs[k] = v end
    for _, k in ipairs({ "_order", "_rec_name", "_parent_name", "_description" }) do
      if attrs[k] == nil then attrs[k] = parent[k] end
    end
    spec = attrs
  end
  field_list(name, spec, list)
  local auto = history.declare(name, spec, list, inherit and M.registry[inherit])
  core.define_model(name, spec, list, cls)
  for _, c in ipairs(inherited_constraints or {}) do M.add_constraint(class_state[cls], c) end
  for _, k in ipairs({ "_order", "_rec_name", "_parent_name", "_description" }) do
    cls[k] = spec[k]
  end
  index_fields(cls, list)
  index_fields(cls, auto.magic)
  history.attach(cls, auto)
  M.registry[name] = cls
  return cls
end

--- Load model files: a directory (every *.lua in name order) or one file.
-- Each runs in a sandbox (see earnorm.sandbox) and returns its model.
function M.load_models(path)
  local sandbox = require "earnorm.sandbox"
  local files = core.list_lua_files(path)
  local loaded = {}
  for _, file in ipairs(files) do
    -- a symbolic link is followed only when the host names it itself
    loaded[#loaded + 1] = sandbox.run_model_file(file, file == path)
  end
  return loaded
end

return M
