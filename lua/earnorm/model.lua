--- Model declaration: orm.model(name, spec) registers a model's metadata in
-- C and returns its class, a table where methods are defined:
--
--   local Partner = orm.model("res.partner", { name = f.Char{}, ... })
--   function Partner:greet() return "hi " .. self.name end
--   Partner:constrains({ "age" }, function(recs) ... end)
--   Partner:on("before_create", function(model, vals_list) ... end)
--
-- Attributes: _description, _order, _rec_name, _parent_name, _abstract,
-- _inherit, _sql_constraints, _indexes.
--
-- Inheritance is Odoo's. Each declaration is a class of its own (a
-- layer): the first declaration of a name returns the model class itself
-- (orm.models[name], what records dispatch on), each extension
-- (_inherit naming the model itself) returns a new layer that compares
-- equal (==) to it. _inherit may name several parents. A model's method
-- resolution order (MRO) is the C3 linearization of its declarations and
-- parents, built as Odoo builds its registry classes: the newest
-- extension first, then the older declarations, then the parents in the
-- order _inherit lists them. A method is looked up along it when it is
-- called, so methods added later to a parent reach the models built from
-- it, and Layer.super.name(self, ...) calls the next definition after
-- that layer in the MRO of self's model (cooperative, as Python's super).
-- Fields are resolved along the same order (the first declaration that
-- has a name wins) and propagated to the models built from a parent when
-- an extension of the parent adds them.
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
local delegation = require "earnorm.delegation"

local M = {}

local class_state = Recordset.class_state

--- At most this many handlers per event and model (a model that registers
-- without end would make every later operation run them all).
M.MAX_HANDLERS = 1000

--- Every declared model's class, by name.
M.registry = {}

local ATTRS = { _description = true, _order = true, _rec_name = true, _parent_name = true,
                _inherit = true, _abstract = true, _table = true, _sql_constraints = true,
                _indexes = true, _inherits = true, -- earnorm.delegation
                _log_access = true, _version = true, _history = true } -- earnorm.history
local INHERITED_ATTRS = { "_order", "_rec_name", "_parent_name", "_description" }
local EVENTS = { before_create = true, after_create = true, before_write = true,
                 after_write = true, before_unlink = true, after_unlink = true,
                 link = true, unlink_rel = true }

local function einval(msg, model, field, level)
  error(core.new_error("EINVAL", msg, model, field), level + 1)
end

-- ---------------------------------------------------------------------
-- The model graph. A node is a layer (the table holding one
-- declaration's methods, kept out of model code's reach) or a model (its
-- state S). S.bases lists a model's direct bases; S.children the models
-- whose bases name it.

local layer_of = setmetatable({}, { __mode = "k" })   -- layer table -> its declaration
local handle_info = setmetatable({}, { __mode = "k" }) -- class or layer handle -> { S, layer }
local generation = 0                                    -- bumped when any bases change

local function linearize(S, seen)
  if S.lin_gen == generation then return S.lin end
  if seen[S] then
    error(core.new_error("EINVAL", string.format(
      "%s: _inherit makes %s inherit from itself", S._name, S._name), S._name), 0)
  end
  seen[S] = true
  local seqs = {}
  for _, b in ipairs(S.bases) do
    if layer_of[b] then
      seqs[#seqs + 1] = { b }
    else
      seqs[#seqs + 1] = { table.unpack(linearize(b, seen)) }
    end
  end
  seqs[#seqs + 1] = { table.unpack(S.bases) }
  seen[S] = nil
  -- C3: take the first head that is in no other sequence's tail
  local out = { S }
  while true do
    local live = {}
    for _, q in ipairs(seqs) do if #q > 0 then live[#live + 1] = q end end
    if #live == 0 then break end
    local pick
    for _, q in ipairs(live) do
      local cand, in_tail = q[1], false
      for _, r in ipairs(live) do
        for i = 2, #r do
          if r[i] == cand then in_tail = true; break end
        end
        if in_tail then break end
      end
      if not in_tail then pick = cand; break end
    end
    if not pick then
      local names = {}
      for _, b in ipairs(S.bases) do
        if not layer_of[b] then names[#names + 1] = b._name end
      end
      error(core.new_error("EINVAL", string.format(
        "%s: cannot order the parents of %s (%s): one of them already inherits from another "
        .. "listed before it; list the more specific model first", S._name, S._name,
        table.concat(names, ", ")), S._name), 0)
    end
    out[#out + 1] = pick
    for _, q in ipairs(live) do
      if q[1] == pick then table.remove(q, 1) end
    end
  end
  S.lin, S.lin_gen = out, generation
  local layers = {}
  for _, n in ipairs(out) do
    if layer_of[n] then layers[#layers + 1] = n end
  end
  S.mro = layers
  return out
end

-- The layers of S's model, most specific first.
local function mro(S)
  if S.lin_gen ~= generation then linearize(S, {}) end
  return S.mro
end

local ClassAPI = {}

-- A key of the model: the first layer of its MRO that has it, else the
-- class API and the recordset methods.
local function lookup(S, k)
  local layers = mro(S)
  for i = 1, #layers do
    local v = rawget(layers[i], k)
    if v ~= nil then return v end
  end
  return ClassAPI[k]
end

-- Every model built from S (its children, theirs...), each once, in a
-- stable order.
local function descendants(S)
  local out, seen = {}, { [S] = true }
  local function walk(T)
    local names = {}
    for n in pairs(T.children) do names[#names + 1] = n end
    table.sort(names)
    for _, n in ipairs(names) do
      local D = class_state[M.registry[n]]
      if D and not seen[D] then
        seen[D] = true
        out[#out + 1] = D
        walk(D)
      end
    end
  end
  walk(S)
  return out
end

-- ---------------------------------------------------------------------
-- The class API

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
-- A handler of a model runs for the models built from it too.
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
  for _, D in ipairs(descendants(S)) do
    local dl = D._handlers[event] or {}
    if #dl < M.MAX_HANDLERS then dl[#dl + 1] = fn end
    D._handlers[event] = dl
  end
  return fn
end

local function remove_last(list, fn)
  if not list then return false end
  for i = #list, 1, -1 do
    if list[i] == fn then table.remove(list, i); return true end
  end
  return false
end

--- Remove a handler registered with on() (from the models built from
-- this one too).
function ClassAPI:off(event, fn)
  local S = state_of(self, "off")
  local found = remove_last(S._handlers[event], fn)
  if found then
    for _, D in ipairs(descendants(S)) do remove_last(D._handlers[event], fn) end
  end
  return found
end

--- Add a validator run after create, and after write when one of the
-- fields changed. It receives the records; it raises
-- orm.ValidationError (or any error) to refuse them. It holds for the
-- models built from this one too.
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
  local c = { fields = set, names = names, fn = fn }
  S._constraints[#S._constraints + 1] = c
  M.sync_checks(S)
  for _, D in ipairs(descendants(S)) do
    D._constraints[#D._constraints + 1] = c
    M.sync_checks(D)
  end
  return fn
end

--- Register the constraints of S with the dependency graph (core/depends:
-- one runs when one of its fields, dotted paths included, changes, and on
-- create), once per model and constraint; S._checks maps the graph's
-- index to the constraint (earnorm.recordset runs it).
function M.sync_checks(S)
  S._check_ids = S._check_ids or {}
  for k in pairs(S._checks) do S._checks[k] = nil end
  for _, c in ipairs(S._constraints) do
    local key = c.check and ("sql:" .. c.check) or c
    local idx = S._check_ids[key]
    if not idx then
      idx = core.add_check(S._name, c.names)
      S._check_ids[key] = idx
    end
    S._checks[idx] = c
  end
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
--- The class API (on, off, constrains), read by the tests of reserved names.
M.class_api = ClassAPI

-- ---------------------------------------------------------------------
-- Classes, layers and super

-- Layer.super: calls reach the next definition after the layer in the MRO
-- of the receiver's model. An object with nothing to write into.
local super_of = setmetatable({}, { __mode = "k" })  -- super object -> { layer, name }

local SuperMT = { __name = "earnorm.Super", __metatable = "locked" }

local function model_of_receiver(self)
  if core.is_recordset(self) then return class_state[core.class(self)] end
  return class_state[self]
end

function SuperMT.__index(sup, k)
  local info = super_of[sup]
  if type(k) ~= "string" then return nil end
  return function(self, ...)
    local S = model_of_receiver(self)
    if not S then
      einval(string.format("%s: super.%s(self, ...): self must be records or a class of the model "
        .. "(call it with a dot and self: Class.super.%s(self, ...)), got %s", info.name, k, k,
        type(self) == "userdata" and "an object" or "a " .. type(self)), info.name, nil, 2)
    end
    local layers, at = mro(S), nil
    for i = 1, #layers do
      if layers[i] == info.layer then at = i; break end
    end
    if not at then
      einval(string.format("%s: super.%s: records of %s do not inherit from this class of %s",
                           info.name, k, S._name, info.name), S._name, nil, 2)
    end
    for i = at + 1, #layers do
      local v = rawget(layers[i], k)
      if v ~= nil then return v(self, ...) end
    end
    local v = ClassAPI[k]
    if v == nil then
      einval(string.format("%s: super.%s: no class after this one in the MRO of %s defines '%s'",
                           info.name, k, S._name, k), S._name, nil, 2)
    end
    return v(self, ...)
  end
end
SuperMT.__newindex = function(sup)
  einval(string.format("%s: super is read-only", super_of[sup].name), super_of[sup].name, nil, 2)
end
SuperMT.__tostring = function(sup) return "super of model " .. super_of[sup].name end

local function new_super(layer, name)
  local sup = core.new_object(SuperMT)
  super_of[sup] = { layer = layer, name = name }
  return sup
end

-- One metatable for every class and layer: reads resolve along the MRO,
-- writes go to the declaration's own layer.
local HandleMT = {}
HandleMT.__index = function(h, k)
  local info = handle_info[h]
  if k == "super" then return info.super end
  local cls = info.S._class
  if not rawequal(cls, h) then
    local v = rawget(cls, k)
    if v ~= nil then return v end
  end
  return lookup(info.S, k)
end
HandleMT.__newindex = function(h, k, v)
  local info = handle_info[h]
  if k == "super" then
    einval(info.S._name .. ": 'super' is a key of the model class and cannot be set",
           info.S._name, nil, 2)
  end
  rawset(info.layer, k, v)
end
HandleMT.__eq = function(a, b)
  local x, y = handle_info[a], handle_info[b]
  return x ~= nil and y ~= nil and x.S == y.S
end
HandleMT.__tostring = function(h) return "model " .. handle_info[h].S._name end

local STATE_TABLES = { "_fields", "_field_order", "_handlers", "_constraints", "_checks",
                       "_default_fns", "_computes", "_stored_computes", "_x2many", "_inverses",
                       "_searchables" }

-- A new layer for the declaration decl of model S, and its handle (the
-- class itself for a model's first declaration).
local function new_layer(S, handle, decl)
  local layer = {}
  layer_of[layer] = decl
  decl.layer = layer
  decl.handle = handle
  handle_info[handle] = { S = S, layer = layer, super = new_super(layer, S._name) }
  class_state[handle] = S
  return layer
end

local function new_class(name)
  local cls = { _name = name }
  local S = { _name = name, _class = cls, bases = {}, children = {}, decls = {} }
  for _, k in ipairs(STATE_TABLES) do
    S[k] = {}
    cls[k] = core.readonly(S[k], name .. "." .. k)
  end
  return setmetatable(cls, HandleMT), S
end

-- Names a recordset resolves before its class (rs_index in
-- bindings/lua/recordset.c), so a field cannot take them.
local RECORDSET_KEYS = { id = true, ids = true, env = true, _name = true, _context = true }
local CLASS_KEYS = { super = true }

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
  if CLASS_KEYS[k] or rawget(reserved_probe, k) ~= nil then return "is a key of the model class" end
  return nil
end

local function field_list(name, spec, into)
  -- fields in the order they were written (see fields.lua)
  local list = {}
  for k, v in pairs(spec) do
    local why = type(k) == "string" and fields.is_field(v) and reserved_why(k)
    if why then
      error(core.new_error("EINVAL", string.format(
        "%s.%s: '%s' %s and cannot be a field name", name, k, k, why), name, k), 4)
    elseif type(k) == "string" and k:sub(1, 1) == "_" and ATTRS[k] then
      -- attribute
    elseif fields.is_field(v) then
      list[#list + 1] = { name = k, spec = v }
    else
      error(core.new_error("EINVAL", string.format(
        "%s.%s: expected a field declaration (orm.fields.Char{...} and the like) or a known attribute, got %s",
        name, tostring(k), type(v)), name, type(k) == "string" and k or nil), 4)
    end
  end
  table.sort(list, function(a, b) return a.spec._seq < b.spec._seq end)
  local known
  for _, e in ipairs(list) do
    if e.spec.related ~= nil then
      if not known then
        -- what a one-segment path may be a typo of: the fields declared so far
        known = {}
        for _, o in ipairs(list) do known[#known + 1] = o.name end
        local cls = M.registry[name]
        if cls then for k in pairs(class_state[cls]._fields) do known[#known + 1] = k end end
        table.sort(known)
      end
      e.spec = M.related_spec(name, e.name, e.spec, known)
    end
    into[#into + 1] = e
  end
  return into
end

--- related = "partner_id.country_id.name": a computed field following the
-- path (its depends), written back through the path's last record (its
-- inverse) unless readonly; stored only with store = true.
function M.related_spec(model, fname, spec, known)
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
  if #segs == 1 and known and not path:find(".", 1, true) then
    local found = false
    for _, k in ipairs(known) do if k == path then found = true end end
    if not found then
      local close = #known > 0 and core.closest(path, known)
      bad(string.format("\"%s\": %s has no field '%s'%s", path, model, path,
                        close and (" (did you mean '" .. close .. "'?)") or ""))
    end
  end
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
          local from = target
          target = target[segs[i]]
          if #target == 0 then
            -- nowhere to write it: refused, never kept in this process only
            error(core.new_error("EINVAL", string.format(
              "%s.%s: cannot write related \"%s\" for %s: %s has no %s", model, fname, path,
              tostring(rec), tostring(from), segs[i]), model, fname), 0)
          end
        end
        local v = rec[fname]
        if v == nil then v = core.null end
        if core.is_recordset(v) and spec.type == "Many2one" then v = #v > 0 and v.id or core.null end
        target:write{ [last] = v }
      end
    end
  end
  return copy
end

local function index_fields(S, list)
  for _, e in ipairs(list) do
    local s = e.spec
    S._fields[e.name] = s
    S._field_order[#S._field_order + 1] = e.name
    if type(s.default) == "function" then S._default_fns[e.name] = s.default end
    if s.type == "One2many" or s.type == "Many2many" then S._x2many[e.name] = s end
    if s.compute then
      S._computes[e.name] = s
      if s.store then S._stored_computes[#S._stored_computes + 1] = e.name end
      if s.inverse ~= nil and s.type ~= "One2many" then S._inverses[e.name] = s end
      if s.search ~= nil then S._searchables[e.name] = s end
    end
  end
end

-- ---------------------------------------------------------------------
-- _inherit

-- The parents named by _inherit: nil, or a list of model names (a string
-- is a list of one). Odoo's list form; a name listed twice counts once.
local function inherit_of(name, spec)
  local inh = spec._inherit
  if inh == nil then return nil end
  local who = type(name) == "string" and name or "orm.model"
  local model = type(name) == "string" and name or nil
  if type(inh) == "string" then return { inh } end
  if type(inh) ~= "table" then
    error(core.new_error("EINVAL", string.format(
      "%s: _inherit must be a model name (a string), got a %s", who, type(inh)),
      model), 4)
  end
  local shown, n = {}, 0
  for _ in pairs(inh) do n = n + 1 end
  for i, v in ipairs(inh) do shown[i] = string.format("%q", tostring(v)) end
  local why
  if n == 0 then
    why = "names no model"
  elseif #shown ~= n then
    why = "must be a model name or a list of model names"
  end
  local out, seen = {}, {}
  for i, v in ipairs(inh) do
    if not why and type(v) ~= "string" then
      why = string.format("must list model names (item %d is a %s)", i, type(v))
    elseif not why and not seen[v] then
      seen[v] = true
      out[#out + 1] = v
    end
  end
  if why then
    error(core.new_error("EINVAL", string.format("%s: _inherit = { %s } %s", who,
                                                 table.concat(shown, ", "), why), model), 4)
  end
  return out
end

-- Odoo's LastOrderedSet: adding a base already there moves it last.
local function add_base(bases, b)
  for i = #bases, 1, -1 do
    if bases[i] == b then table.remove(bases, i) end
  end
  bases[#bases + 1] = b
end

-- load_models sets this while it runs: a file may wait for a model that a
-- later file declares (see M.load_models).
local loading
local WAIT = {}

local function wait_for(name)
  if not loading or loading.helper_depth > 0 then return false end
  local co = coroutine.running()
  if co ~= loading.current or not coroutine.isyieldable() then return false end
  return coroutine.yield(WAIT, name)
end

-- Why a declaration made while load_models runs could not wait for a
-- later file, or nil (not loading, or it could wait).
local function why_no_wait()
  if not loading then return nil end
  if loading.helper_depth > 0 then
    return string.format("it runs inside require %q", loading.helper_name or "lib")
  end
  local co = coroutine.running()
  if co == loading.current and not coroutine.isyieldable() then
    return "it runs inside a C function's callback (string.gsub, table.sort, ...)"
  end
  return nil
end

-- ---------------------------------------------------------------------
-- Fields, constraints and indexes along the MRO

-- The fields of S as its MRO gives them: for each name the definition of
-- the first layer that has it, in declaration order.
local function effective_fields(S)
  local winner, first_seq, names = {}, {}, {}
  local layers = mro(S)
  for _, layer in ipairs(layers) do
    for _, e in ipairs(layer_of[layer].fields) do
      if winner[e.name] == nil then
        winner[e.name] = e.spec
        names[#names + 1] = e.name
      end
      if first_seq[e.name] == nil or e.spec._seq < first_seq[e.name] then
        first_seq[e.name] = e.spec._seq
      end
    end
  end
  table.sort(names, function(a, b) return first_seq[a] < first_seq[b] end)
  local out = {}
  for i, n in ipairs(names) do out[i] = { name = n, spec = winner[n] } end
  return out
end

-- What S lacks of its effective fields, or an error when a field it has
-- is now defined first by another declaration.
local function field_additions(S)
  local add = {}
  for _, e in ipairs(effective_fields(S)) do
    local have = S._fields[e.name]
    if have == nil then
      add[#add + 1] = e
    elseif have ~= e.spec then
      error(core.new_error("ECONFLICT", string.format(
        "%s.%s: field defined twice: a later declaration defines %s again (an extension adds "
        .. "fields; it cannot redefine one %s already has)", S._name, e.name, e.name, S._name),
        S._name, e.name), 0)
    end
  end
  return add
end

local NAME_PATTERN = "^[%a_][%w_]*$"
local CHECK_OPS = { ["="] = true, ["!="] = true, [">"] = true, [">="] = true, ["<"] = true,
                    ["<="] = true, ["in"] = true, ["not in"] = true, ["like"] = true,
                    ["ilike"] = true, ["not like"] = true, ["not ilike"] = true,
                    ["=like"] = true, ["=ilike"] = true }

local function show_keys(t, known)
  local bad = {}
  for k in pairs(t) do
    if not known(k) then bad[#bad + 1] = string.format("'%s'", tostring(k)) end
  end
  table.sort(bad)
  return bad
end

-- _sql_constraints and _indexes of one declaration, checked for form:
-- { { name, "unique(a, b)" or a domain, message }, ... } and
-- { { "a", "b" }, ... }. Field names are checked against the model later.
local function read_constraints(name, spec)
  local out = { uniques = {}, checks = {}, indexes = {} }
  local sc = spec._sql_constraints
  if sc ~= nil then
    if type(sc) ~= "table" then
      einval(string.format("%s: _sql_constraints must be a list of { name, definition, message }, "
        .. "got a %s", name, type(sc)), name, nil, 4)
    end
    local bad = show_keys(sc, function(k) return math.type(k) == "integer" and k >= 1 and k <= #sc end)
    if #bad > 0 then
      einval(string.format("%s: _sql_constraints: unknown key %s (it is a list of "
        .. "{ name, definition, message })", name, table.concat(bad, ", ")), name, nil, 4)
    end
    for i, c in ipairs(sc) do
      local where = string.format("%s: _sql_constraints[%d]", name, i)
      if type(c) ~= "table" then
        einval(where .. ": expected { name, definition, message }, got a " .. type(c), name, nil, 4)
      end
      bad = show_keys(c, function(k) return k == 1 or k == 2 or k == 3 end)
      if #bad > 0 then
        einval(string.format("%s: unknown key %s (an entry is { name, definition, message })",
                             where, table.concat(bad, ", ")), name, nil, 4)
      end
      local cname, def, msg = c[1], c[2], c[3]
      if type(cname) ~= "string" or not cname:match(NAME_PATTERN) or #cname > 40 then
        einval(where .. ": the name must be letters, digits and '_' (at most 40), got "
          .. (type(cname) == "string" and string.format("%q", cname) or "a " .. type(cname)),
          name, nil, 4)
      end
      where = string.format("%s: constraint %s", name, cname)
      if type(msg) ~= "string" or msg == "" then
        einval(where .. ": the third item must be the message (a string)", name, nil, 4)
      end
      if out.uniques[cname] or out.checks[cname] then
        einval(where .. ": declared twice", name, nil, 4)
      end
      if type(def) == "string" then
        local body = def:match("^%s*[Uu][Nn][Ii][Qq][Uu][Ee]%s*%((.*)%)%s*$")
        if not body then
          einval(string.format("%s: definition %q is not unique(field, ...); a check is given as "
            .. "a domain (a table), not as SQL", where, def), name, nil, 4)
        end
        local list = {}
        for part in (body .. ","):gmatch("([^,]*),") do
          local f = part:match("^%s*(.-)%s*$")
          if not f:match(NAME_PATTERN) then
            einval(string.format("%s: unique(...) must list field names, got %q", where, f),
                   name, nil, 4)
          end
          list[#list + 1] = f
        end
        out.uniques[cname] = { name = cname, fields = list, message = msg, seq = i }
      elseif type(def) == "table" and not core.is_recordset(def) and def ~= core.null then
        local used = {}
        local function term(t, j)
          if type(t) == "string" then
            if t ~= "&" and t ~= "|" and t ~= "!" then
              einval(string.format("%s: check domain item %d: unknown operator %q (use &, | or !)",
                                   where, j, t), name, nil, 5)
            end
            return
          end
          if type(t) ~= "table" or #t ~= 3 or type(t[1]) ~= "string" then
            einval(string.format("%s: check domain item %d must be { field, operator, value }",
                                 where, j), name, nil, 5)
          end
          if not t[1]:match(NAME_PATTERN) then
            einval(string.format("%s: check domain item %d: %q is not a field of the model "
              .. "(a check looks at the record's own fields only)", where, j, t[1]), name, nil, 5)
          end
          if not CHECK_OPS[t[2]] then
            einval(string.format("%s: check domain item %d: operator %q is not available in a "
              .. "check", where, j, tostring(t[2])), name, nil, 5)
          end
          used[#used + 1] = t[1]
        end
        if #def == 0 then einval(where .. ": the check domain is empty", name, nil, 4) end
        for j, t in ipairs(def) do term(t, j) end
        -- prefix notation read from the end, as the domain builder reads it:
        -- an operator takes the operands after it
        local sp = 0
        for j = #def, 1, -1 do
          local t = def[j]
          if type(t) == "string" then
            local need = t == "!" and 1 or 2
            if sp < need then
              einval(string.format("%s: unbalanced domain: '%s' at position %d needs %d operand%s, "
                .. "found %d", where, t, j, need, need > 1 and "s" or "", sp), name, nil, 4)
            end
            sp = sp - need + 1
          else
            sp = sp + 1
          end
        end
        out.checks[cname] = { name = cname, domain = def, fields = used, message = msg, seq = i }
      else
        einval(string.format("%s: the definition must be \"unique(field, ...)\" or a domain "
          .. "(a check), got a %s", where, type(def)), name, nil, 4)
      end
    end
  end
  local ix = spec._indexes
  if ix ~= nil then
    if type(ix) ~= "table" then
      einval(string.format("%s: _indexes must be a list of field lists, got a %s", name, type(ix)),
             name, nil, 4)
    end
    local bad = show_keys(ix, function(k) return math.type(k) == "integer" and k >= 1 and k <= #ix end)
    if #bad > 0 then
      einval(string.format("%s: _indexes: unknown key %s (it is a list of field lists, like "
        .. "{ { \"a\", \"b\" } })", name, table.concat(bad, ", ")), name, nil, 4)
    end
    for i, e in ipairs(ix) do
      local where = string.format("%s: _indexes[%d]", name, i)
      if type(e) ~= "table" or #e == 0 then
        einval(where .. ": expected a list of field names like { \"a\", \"b\" }", name, nil, 4)
      end
      bad = show_keys(e, function(k) return math.type(k) == "integer" and k >= 1 and k <= #e end)
      if #bad > 0 then
        einval(string.format("%s: unknown key %s (an index is a list of field names)", where,
                             table.concat(bad, ", ")), name, nil, 4)
      end
      for j, f in ipairs(e) do
        if type(f) ~= "string" or not f:match(NAME_PATTERN) then
          einval(string.format("%s: item %d must be a field name", where, j), name, nil, 4)
        end
      end
      out.indexes[#out.indexes + 1] = { table.unpack(e) }
    end
  end
  return out
end

-- The constraints and indexes of S along its MRO: by name the first
-- layer's; indexes of every layer (each list once).
local function effective_constraints(S)
  local uniques, checks, indexes, seen_ix = {}, {}, {}, {}
  local taken = {}
  for _, layer in ipairs(mro(S)) do
    local c = layer_of[layer].constraints
    if c then
      local names = {}
      for n in pairs(c.uniques) do names[#names + 1] = n end
      for n in pairs(c.checks) do names[#names + 1] = n end
      table.sort(names, function(a, b)
        return (c.uniques[a] or c.checks[a]).seq < (c.uniques[b] or c.checks[b]).seq
      end)
      for _, n in ipairs(names) do
        if not taken[n] then
          taken[n] = true
          if c.uniques[n] then uniques[#uniques + 1] = c.uniques[n] end
          if c.checks[n] then checks[#checks + 1] = c.checks[n] end
        end
      end
      for _, e in ipairs(c.indexes) do
        local key = table.concat(e, ",")
        if not seen_ix[key] then
          seen_ix[key] = true
          indexes[#indexes + 1] = e
        end
      end
    end
  end
  return uniques, checks, indexes
end

-- Every field a constraint or index names must be a stored field of S
-- (with `extra`: fields about to be added).
local function check_constraint_fields(S, extra)
  local uniques, checks, indexes = effective_constraints(S)
  local function field(n) return S._fields[n] or extra[n] end
  local function need(what, n, stored)
    local spec = field(n)
    if not spec then
      local known = {}
      for k in pairs(S._fields) do known[#known + 1] = k end
      for k in pairs(extra) do known[#known + 1] = k end
      local close = #known > 0 and core.closest(n, known)
      error(core.new_error("EINVAL", string.format("%s: %s names unknown field '%s'%s", S._name,
        what, n, close and (" (did you mean '" .. close .. "'?)") or ""), S._name, n), 0)
    end
    if stored and (spec.type == "One2many" or spec.type == "Many2many" or
                   (spec.compute and not spec.store)) then
      error(core.new_error("EINVAL", string.format("%s: %s names field '%s', which is not stored",
        S._name, what, n), S._name, n), 0)
    end
  end
  for _, u in ipairs(uniques) do
    for _, n in ipairs(u.fields) do need("constraint " .. u.name, n, true) end
  end
  for _, c in ipairs(checks) do
    for _, n in ipairs(c.fields) do need("constraint " .. c.name, n, true) end
  end
  for _, e in ipairs(indexes) do
    for _, n in ipairs(e) do need("_indexes { " .. table.concat(e, ", ") .. " }", n, true) end
  end
  return uniques, checks, indexes
end

-- A check constraint as a validator: the records must match its domain.
local function check_validator(S, c)
  local names = {}
  local set = {}
  for _, n in ipairs(c.fields) do
    if not set[n] then set[n] = true; names[#names + 1] = n end
  end
  local model = S._name
  return {
    fields = set, names = names, check = c.name, sql = c,
    fn = function(recs)
      local good = recs:filtered_domain(c.domain)
      if #good == #recs then return end
      local bad = recs - good
      error(core.new_error("EVALIDATE", string.format("%s: constraint %s: %s (record %s)", model,
        c.name, c.message, tostring(bad[1])), model, #names == 1 and names[1] or nil), 0)
    end,
  }
end

-- Put S's constraints and indexes where the ORM and C use them: the
-- checks among S._constraints (replacing the old ones), the unique
-- constraints and indexes in C (for migrate and error messages).
local function apply_constraints(S, uniques, checks, indexes)
  local keep = {}
  for _, c in ipairs(S._constraints) do
    if not c.check then keep[#keep + 1] = c end
  end
  for i = #S._constraints, 1, -1 do S._constraints[i] = nil end
  for _, c in ipairs(checks) do S._constraints[#S._constraints + 1] = check_validator(S, c) end
  for _, c in ipairs(keep) do S._constraints[#S._constraints + 1] = c end
  S._sql = { uniques = uniques, checks = checks, indexes = indexes }
  local list = {}
  for _, u in ipairs(uniques) do
    list[#list + 1] = { name = u.name, fields = u.fields, unique = true, message = u.message }
  end
  for _, e in ipairs(indexes) do list[#list + 1] = { fields = e } end
  core.set_indexes(S._name, list)
  M.sync_checks(S)
end

--- The check constraints of S (for migrate): { { name, domain, message }, ... }.
function M.checks_of(name)
  local cls = M.registry[name]
  local S = cls and class_state[cls]
  if not S or S._abstract then return {} end
  return S._sql and S._sql.checks or {}
end

-- ---------------------------------------------------------------------
-- orm.model

local function merge_behaviour(S, P)
  local have = {}
  for _, c in ipairs(S._constraints) do have[c] = true end
  for _, c in ipairs(P._constraints) do
    if not have[c] and not c.check then S._constraints[#S._constraints + 1] = c end
  end
  for ev, hs in pairs(P._handlers) do
    local list = S._handlers[ev] or {}
    local seen = {}
    for _, h in ipairs(list) do seen[h] = true end
    for _, h in ipairs(hs) do
      if not seen[h] then list[#list + 1] = h end
    end
    S._handlers[ev] = list
  end
  M.sync_checks(S)
end

local propagating        -- delegated fields define_delegated is adding
local define_delegated

--- Declare a model (see the module comment). Returns its class (a layer
-- of it for an extension).
function M.define(name, spec)
  if type(name) == "table" and spec == nil then
    spec = name
    local parents = inherit_of(nil, spec)
    if parents and #parents > 1 then
      einval(string.format("orm.model: _inherit names several models (%s): give the new model a "
        .. "name, orm.model(name, spec)", table.concat(parents, ", ")), nil, nil, 2)
    end
    name = parents and parents[1]
  end
  if type(name) ~= "string" then
    error(core.new_error("EINVAL", "orm.model(name, spec): the name must be a string like \"res.partner\""), 2)
  end
  spec = spec or {}
  if type(spec) ~= "table" then
    error(core.new_error("EINVAL", name .. ": orm.model's spec must be a table", name), 2)
  end
  local parents = inherit_of(name, spec) or {}
  if name == history.MODEL and not history.defining then
    einval(string.format("%s is the engine's model and cannot be extended or overridden",
                         history.MODEL), name, nil, 2)
  end
  local in_place = false
  for _, p in ipairs(parents) do
    if p == name then in_place = true end
  end
  if M.registry[name] and not in_place then
    error(core.new_error("ECONFLICT", string.format(
      "model %s is already defined (to add fields to it, declare it again with _inherit = %q)",
      name, name), name), 2)
  end
  local own = field_list(name, spec, {})
  local constraints = read_constraints(name, spec)
  -- a parent declared by a later model file: wait for it (load_models)
  for _, p in ipairs(parents) do
    if not M.registry[p] and not wait_for(p) then
      local why = not M.registry[p] and why_no_wait()
      if why then
        error(core.new_error("ENOTFOUND", string.format("%s: _inherit names model %s, which no "
          .. "file has declared yet, and this declaration cannot wait for a later file (%s): "
          .. "declare it at the top level of a model file", name, tostring(p), why), name), 2)
      end
      error(core.new_error("ENOTFOUND", string.format("%s: _inherit names unknown model %s",
                                                      name, tostring(p)), name), 2)
    end
  end
  local existing = M.registry[name]
  -- _inherits: the Many2one fields and the delegated fields join `own`
  local dinfo = delegation.declare{
    name = name, spec = spec, own = own, parents = parents,
    existing = existing and class_state[existing] or nil, registry = M.registry,
    class_state = class_state, wait_for = wait_for, related_spec = M.related_spec,
    is_auto = history.is_auto,
  }
  if propagating then
    dinfo = dinfo or { inherits = {}, delegated = {} }
    for k, d in pairs(propagating) do dinfo.delegated[k] = d end
  end
  if existing and not in_place then
    error(core.new_error("ECONFLICT", string.format(
      "model %s is already defined (to add fields to it, declare it again with _inherit = %q)",
      name, name), name), 2)
  end
  if existing and spec._abstract ~= nil and (spec._abstract and true or false) ~=
      (class_state[existing]._abstract and true or false) then
    einval(string.format("%s: an extension cannot change _abstract (the model is %s)", name,
      class_state[existing]._abstract and "abstract" or "not abstract"), name, nil, 2)
  end

  local S, handle, cls
  if existing then
    S = class_state[existing]
    handle = setmetatable({ _name = name }, HandleMT)
  else
    cls, S = new_class(name)
    handle = cls
  end
  local decl = { fields = own, constraints = constraints, parents = parents }
  local layer = new_layer(S, handle, decl)
  local bases = { layer }
  local added_parents = {}
  for _, p in ipairs(parents) do
    if p == name then
      for _, b in ipairs(S.bases) do add_base(bases, b) end
    else
      local P = class_state[M.registry[p]]
      add_base(bases, P)
      local already = false
      for _, b in ipairs(S.bases) do if b == P then already = true end end
      if not already then added_parents[#added_parents + 1] = P end
    end
  end

  -- everything that can fail, before anything changes
  local old_bases = S.bases
  S.bases = bases
  generation = generation + 1
  local plan = {}
  local auto
  local ok, err = pcall(function()
    local todo = { S }
    if existing then
      for _, D in ipairs(descendants(S)) do todo[#todo + 1] = D end
    end
    for _, T in ipairs(todo) do
      local add
      if T == S and not existing then
        add = effective_fields(S)
      else
        add = field_additions(T)
      end
      local extra = {}
      for _, e in ipairs(add) do extra[e.name] = e.spec end
      local u, c, ix = check_constraint_fields(T, extra)
      plan[#plan + 1] = { T = T, add = add, uniques = u, checks = c, indexes = ix }
    end
    -- record metadata, version, history (earnorm.history): its checks, and
    -- the engine's own fields taken out of what the parents give
    local parent = not existing and parents[1] and M.registry[parents[1]] or nil
    auto = history.declare(name, spec, plan[1].add, parent, existing)
  end)
  if not ok then
    S.bases = old_bases
    generation = generation + 1
    layer_of[layer] = nil
    error(err, 2)
  end

  local attrs = spec
  if not existing then
    attrs = {}
    for k, v in pairs(spec) do attrs[k] = v end
    for _, k in ipairs(INHERITED_ATTRS) do
      for _, p in ipairs(parents) do
        if attrs[k] == nil then attrs[k] = rawget(M.registry[p], k) end
      end
    end
  end
  if dinfo and attrs._order ~= nil then
    local copy = {}
    for k, v in pairs(attrs) do copy[k] = v end
    copy._order = delegation.order({ _delegated = dinfo.delegated }, attrs._order)
    attrs = copy
  end
  -- C checks every declaration before the first changes (dry runs)
  local dok, derr = pcall(function()
    for i, step in ipairs(plan) do
      core.define_model(step.T._name, i == 1 and attrs or {}, step.add, step.T._class, true)
    end
  end)
  if not dok then
    S.bases = old_bases
    generation = generation + 1
    layer_of[layer] = nil
    error(derr, 2)
  end
  if loading then
    for _, step in ipairs(plan) do
      -- a model the load did not declare changes: a failed load cannot undo it
      if not loading.new[step.T._name] and (existing or step.T ~= S) then
        loading.changed_old = loading.changed_old or step.T._name
      end
    end
    if not existing then loading.new[name] = true end
  end
  for i, step in ipairs(plan) do
    core.define_model(step.T._name, i == 1 and attrs or {}, step.add, step.T._class)
    index_fields(step.T, step.add)
  end
  if not existing then index_fields(S, auto.magic) end
  history.attach(S._class, auto)
  S.decls[#S.decls + 1] = decl
  if loading then loading.defined[name] = true end
  if not existing then
    S._abstract = spec._abstract and true or false
    rawset(cls, "_abstract", S._abstract)
    M.registry[name] = cls
  end
  for _, k in ipairs(INHERITED_ATTRS) do
    if attrs[k] ~= nil then rawset(S._class, k, attrs[k]) end
  end
  for _, p in ipairs(parents) do
    if p ~= name then class_state[M.registry[p]].children[name] = true end
  end
  -- validators and handlers of new parents (theirs reach this model's
  -- descendants too)
  for _, P in ipairs(added_parents) do
    merge_behaviour(S, P)
    if existing then
      for _, D in ipairs(descendants(S)) do merge_behaviour(D, P) end
    end
  end
  for _, step in ipairs(plan) do
    apply_constraints(step.T, step.uniques, step.checks, step.indexes)
  end
  delegation.attach(S, dinfo)
  if existing then
    delegation.propagate(name, { registry = M.registry, class_state = class_state,
                                 related_spec = M.related_spec, is_auto = history.is_auto,
                                 define = define_delegated })
  end
  return handle
end

-- An extension of a parent added fields: they reach the models that
-- delegate to it as a declaration of each (earnorm.delegation).
function define_delegated(child, spec, new)
  local prev = propagating
  propagating = new
  local ok, err = pcall(M.define, child, spec)
  propagating = prev
  if not ok then error(err, 0) end
end

-- ---------------------------------------------------------------------
-- Loading model files

-- Every file has run, so every method is defined: a compute, inverse or
-- search method name that names none is a typo, said now rather than at
-- the field's first use.
local function check_methods(defined)
  local names = {}
  for n in pairs(defined) do names[#names + 1] = n end
  table.sort(names)
  for _, n in ipairs(names) do
    local S = class_state[M.registry[n]]
    local fnames = {}
    for fname in pairs(S._fields) do fnames[#fnames + 1] = fname end
    table.sort(fnames)
    for _, fname in ipairs(fnames) do
      local spec = S._fields[fname]
      for _, key in ipairs({ "compute", "inverse", "search" }) do
        local m = spec[key]
        -- a One2many's inverse is the field of the other side, not a method
        if key == "inverse" and spec.compute == nil then m = nil end
        if type(m) == "string" and type(S._class[m]) ~= "function" then
          local known = {}
          for _, layer in ipairs(mro(S)) do
            for k, v in pairs(layer) do
              if type(k) == "string" and type(v) == "function" then known[#known + 1] = k end
            end
          end
          table.sort(known)
          local close = #known > 0 and core.closest(m, known)
          error(core.new_error("EINVAL", string.format(
            "%s.%s: %s method '%s' is not defined%s", n, fname, key, m,
            close and (" (did you mean '" .. close .. "'?)") or ""), n, fname), 0)
        end
      end
    end
  end
end

-- A load failed: drop the models it declared, so that loading fixed
-- files works. It cannot undo extensions of models declared before it:
-- then every later load is refused (M.broken).
local function rollback(state, mark, before)
  if state.changed_old then
    M.broken = state.changed_old
    return
  end
  local dropped = {}
  for n in pairs(M.registry) do
    if not before[n] then dropped[#dropped + 1] = n end
  end
  for _, n in ipairs(dropped) do
    M.registry[n] = nil
    for o in pairs(before) do
      local P = M.registry[o] and class_state[M.registry[o]]
      if P and P.children then P.children[n] = nil end
    end
  end
  generation = generation + 1
  core.registry_rollback(mark)
end

--- Load model files: a directory (every *.lua in it and its
-- subdirectories, by path, except lib/, which holds helper modules) or
-- one file. Each runs in a sandbox (see earnorm.sandbox) and returns its
-- model. A file whose _inherit names a model no file has declared yet
-- waits until a later file declares it; files that are waiting when
-- every file has run fail with the error of their _inherit.
function M.load_models(path)
  local sandbox = require "earnorm.sandbox"
  local files, root = core.list_lua_files(path)
  if M.broken then
    error(core.new_error("EINVAL", string.format("load_models: an earlier load failed after "
      .. "changing model %s, declared before it, which cannot be undone: start a new engine "
      .. "(or process) to load models again", M.broken), M.broken), 2)
  end
  local state = { current = nil, helper_depth = 0, root = root, helpers = {}, defined = {},
                  new = {} }
  local mark, before = core.registry_mark(), {}
  for n in pairs(M.registry) do before[n] = true end
  local results, pending = {}, {}

  local function finish_all()
    if core.timed_out() then return end
    for _, job in ipairs(pending) do
      if coroutine.status(job.co) == "suspended" then coroutine.close(job.co) end
    end
  end

  local function step(job, ...)
    local prev = state.current
    state.current = job.co
    local res = table.pack(coroutine.resume(job.co, ...))
    state.current = prev
    if not res[1] then
      if core.timed_out() then error(res[2], 0) end
      finish_all()
      error(res[2], 0)
    end
    if coroutine.status(job.co) == "dead" then
      results[job.i] = res[2]
      job.waiting = nil
      return
    end
    if res[2] ~= WAIT then
      finish_all()
      error(core.new_error("EINVAL", string.format(
        "%s: a model file cannot yield while it loads (coroutine.yield outside a coroutine)",
        job.file), nil, nil, "LUA"), 0)
    end
    job.waiting = res[3]
    pending[#pending + 1] = job
  end

  -- resume files whose model now exists, in file order, until none can go
  local function drain()
    local progress = true
    while progress do
      progress = false
      for i, job in ipairs(pending) do
        if M.registry[job.waiting] then
          table.remove(pending, i)
          step(job, true)
          progress = true
          break
        end
      end
    end
  end

  local prev_loading = loading
  loading = state
  local ok, err = pcall(function()
    for i, file in ipairs(files) do
      local job = { i = i, file = file }
      job.co = coroutine.create(function()
        -- a symbolic link is followed only when the host names it itself
        return sandbox.run_model_file(file, file == path, state)
      end)
      step(job)
      drain()
    end
    -- what still waits names a model no file declares: let it fail
    while #pending > 0 do
      local job = table.remove(pending, 1)
      step(job, false)
      drain()
    end
  end)
  loading = prev_loading
  if ok then ok, err = pcall(check_methods, state.defined) end
  if not ok then
    rollback(state, mark, before)
    error(err, 0)
  end
  local loaded = {}
  for i = 1, #files do loaded[i] = results[i] end
  return loaded
end

--- The state load_models keeps while it runs, or nil: the sandbox's
-- require of helper modules uses it, and hides the coroutine a file runs
-- in (current) from the file.
function M.loading() return loading end

return M
