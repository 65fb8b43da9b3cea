--- Record metadata, versions and history: the model attributes
-- _log_access, _version and _history, the field option tracking, and the
-- methods rec:history() and rec:at(when) of models that track fields.
--
--   orm.model("res.partner", {
--     _version = true,                       -- optimistic locking (field "version")
--     _history = { fields = { "name" } },    -- or tracking = true on a field
--     name = f.Char{}, age = f.Integer{ tracking = true },
--   })
--
-- The engine maintains the fields in C (core/orm/version.c, history.c):
-- this module checks the attributes, declares the history model
-- (earnorm.history) when a model first tracks a field, gives the Lua
-- layer the declarations of the engine's fields, and reads the history.
local core = require "earnorm.core"
local fields = require "earnorm.fields"
local Recordset = require "earnorm.recordset"

local M = {}

--- The model history rows are written to (EO_HISTORY_MODEL in C).
M.MODEL = "earnorm.history"

local format = string.format

-- Declarations of the engine's fields (never given to C: C adds them).
local auto_specs = setmetatable({}, { __mode = "k" })
-- What each class was declared with: { _log_access =, _version =, _history = }.
local declared = setmetatable({}, { __mode = "k" })

local function fail(code, msg, model, field, level)
  error(core.new_error(code, msg, model, field), level + 1)
end

local function check_attrs(name, spec)
  local la, ver, hist = spec._log_access, spec._version, spec._history
  if la ~= nil and type(la) ~= "boolean" then
    fail("EINVAL", format("%s: _log_access must be true or false, got a %s", name, type(la)),
         name, nil, 4)
  end
  if ver ~= nil and type(ver) ~= "boolean" and type(ver) ~= "string" then
    fail("EINVAL", format("%s: _version must be true, false or the name of the version field, "
                          .. "got a %s", name, type(ver)), name, nil, 4)
  end
  if hist ~= nil and type(hist) ~= "boolean" then
    if type(hist) ~= "table" or hist == core.null or core.is_recordset(hist) then
      fail("EINVAL", format("%s: _history must be true or { fields = { ... } }, got a %s", name,
                            type(hist)), name, nil, 4)
    end
    core.check_options(hist, { "fields" }, name .. ": _history")
    local list = hist.fields
    if type(list) ~= "table" or list == core.null or #list == 0 then
      fail("EINVAL", format("%s: _history.fields must be a list of field names", name), name,
           nil, 4)
    end
    local n = 0
    for _ in pairs(list) do n = n + 1 end
    for i = 1, n do
      if type(list[i]) ~= "string" then
        fail("EINVAL", format("%s: _history.fields[%d] must be a field name (a string), got a %s",
                              name, i, type(list[i])), name, nil, 4)
      end
    end
  end
end

--- Is spec the declaration of one of the engine's fields (create_date...)?
function M.is_auto(spec) return auto_specs[spec] == true end

local function auto(list, name, spec)
  auto_specs[spec] = true
  list[#list + 1] = { name = name, spec = spec }
end

--- The history model, declared on first need (and migrated with the others).
function M.ensure_model()
  local model = require "earnorm.model"
  if model.registry[M.MODEL] then return end
  local f = fields
  M.defining = true
  local ok, err = pcall(model.define, M.MODEL, {
    _description = "Changes of tracked fields",
    _order = "date desc, id desc",
    _log_access = false,
    model = f.Char{ required = true, index = true },
    res_id = f.Char{ required = true, index = true },
    operation = f.Selection{ choices = { "create", "write", "unlink" }, required = true },
    date = f.Datetime{ required = true, index = true },
    uid = f.Integer{ help = "who: empty until access control gives environments a user" },
    changes = f.Json{},
  })
  M.defining = false
  if not ok then error(err, 0) end
end

--- Called by orm.model before the model reaches C: checks the attributes,
-- takes a parent's (with _inherit and a new name) when the spec leaves
-- them out, drops the parent's engine fields from `list` (C adds the
-- model's own), and returns what attach() needs.
function M.declare(name, spec, list, parent, existing)
  if existing then
    for _, k in ipairs({ "_log_access", "_version", "_history" }) do
      if spec[k] ~= nil then
        fail("EINVAL", format("%s: %s cannot be changed by an extension (_inherit = %q); "
                              .. "declare it where the model is first declared", name, k, name),
             name, nil, 3)
      end
    end
  else
    local from = parent and declared[parent]
    if from then
      for k, v in pairs(from) do
        if spec[k] == nil then spec[k] = v end
      end
    end
    check_attrs(name, spec)
  end
  local tracked = not existing and spec._history ~= nil and spec._history ~= false
  local k = 1
  while list[k] do
    if auto_specs[list[k].spec] then
      table.remove(list, k)
    else
      if list[k].spec.tracking then tracked = true end
      k = k + 1
    end
  end
  if tracked then
    for _, e in ipairs(list) do
      if e.name == "history" or e.name == "at" then
        fail("EINVAL", format("%s.%s: '%s' is a method of models that track fields "
                              .. "(rec:%s()) and cannot be a field name", name, e.name, e.name,
                              e.name), name, e.name, 3)
      end
    end
    if name ~= M.MODEL then M.ensure_model() end
  end
  local magic = {}
  if not existing then
    if spec._log_access ~= false then
      auto(magic, "create_date", fields.Datetime{ readonly = true, copy = false,
                                                  string = "Created on" })
      auto(magic, "write_date", fields.Datetime{ readonly = true, copy = false,
                                                 string = "Last Updated on" })
    end
    if spec._version then
      auto(magic, type(spec._version) == "string" and spec._version or "version",
           fields.Integer{ readonly = true, copy = false, string = "Version" })
    end
  end
  return {
    magic = magic, tracked = tracked,
    attrs = not existing and { _log_access = spec._log_access, _version = spec._version,
                               _history = spec._history } or nil,
  }
end

-- ---------------------------------------------------------------------
-- Reading the history

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64V = {}
for i = 1, 64 do B64V[B64:byte(i)] = i - 1 end

local function unbase64(s)
  local out, n = {}, 0
  for i = 1, #s, 4 do
    local a, b, c, d = s:byte(i, i + 3)
    local v = (B64V[a] << 18) | (B64V[b] << 12) | ((B64V[c] or 0) << 6) | (B64V[d] or 0)
    n = n + 1
    out[n] = string.char(v >> 16)
    if c ~= 61 then n = n + 1; out[n] = string.char((v >> 8) & 255) end
    if d ~= 61 then n = n + 1; out[n] = string.char(v & 255) end
  end
  return table.concat(out)
end

local function one(self, method)
  if not core.is_recordset(self) then
    local name = type(self) == "table" and rawget(self, "_name") or "?"
    fail("EINVAL", format("%s: %s() reads the history of a record, called here on the model "
                          .. "class; use it on a record", name, method), name, nil, 3)
  end
  if #self ~= 1 then
    local name = core.model_name(self)
    fail("EINVAL", format("%s: %s() reads the history of one record, got %s", name, method,
                          tostring(self)), name, nil, 3)
  end
end

local function field_types(rec)
  return Recordset.class_state[core.class(rec)]._fields
end

-- Binary values were written as base64 (history.c): back to bytes.
local function decode(specs, changes)
  for fname, c in pairs(changes) do
    local s = specs[fname]
    if s and s.type == "Binary" then
      if type(c.old) == "string" then c.old = unbase64(c.old) end
      if type(c.new) == "string" then c.new = unbase64(c.new) end
    end
  end
  return changes
end

local function entries(rec, domain, order, limit)
  local d = { { "model", "=", core.model_name(rec) }, { "res_id", "=", tostring(rec.id) } }
  for _, leaf in ipairs(domain or {}) do d[#d + 1] = leaf end
  local rows = rec.env[M.MODEL]:search_read(d, {
    fields = { "date", "operation", "uid", "changes" }, order = order, limit = limit })
  local specs = field_types(rec)
  local out = {}
  for i, row in ipairs(rows) do
    out[i] = { id = row.id, date = row.date, operation = row.operation, uid = row.uid,
               changes = decode(specs, row.changes or {}) }
  end
  return out
end

--- rec:history{ limit = n }: the record's history, newest first, each
-- entry { id =, date =, operation = "create"|"write"|"unlink", uid =,
-- changes = { field = { old = v, new = v } } } (orm.null for no value).
function M.history(self, opts)
  one(self, "history")
  core.check_options(opts, { "limit" }, core.model_name(self) .. ": history")
  opts = opts or {}
  return entries(self, nil, "date desc, id desc", opts.limit)
end

local function plain(v)
  if v == core.null then return nil end
  return v
end

--- rec:at(when): the record's tracked fields as they were at `when` (a
-- Datetime: text or seconds since the epoch), a table { id =, field =
-- value } (no key for no value); nil and a message when the record did
-- not exist then (before its create, after its unlink, or before the
-- history began).
function M.at(self, when)
  one(self, "at")
  local name = core.model_name(self)
  if type(when) ~= "string" and type(when) ~= "number" then
    fail("EINVAL", format("%s: at(when) expects a Datetime (text or seconds since the epoch), "
                          .. "got a %s", name, type(when)), name, nil, 2)
  end
  local past = entries(self, { { "date", "<=", when } }, "date, id")
  local state, have
  for _, e in ipairs(past) do
    if e.operation == "unlink" then
      state, have = nil, nil
    else
      state, have = state or {}, have or {}
      for fname, c in pairs(e.changes) do
        state[fname] = plain(c.new)
        have[fname] = true
      end
    end
  end
  local last = past[#past]
  if state == nil then
    local why = last and format("it was deleted at %s", last.date) or "it had no history yet"
    return nil, format("%s(%s) did not exist at %s (%s)", name, tostring(self.id),
                       tostring(when), why)
  end
  -- fields tracked since a later date: their value before their first later change
  for _, e in ipairs(entries(self, { { "date", ">", when } }, "date, id")) do
    for fname, c in pairs(e.changes) do
      if not have[fname] then
        state[fname] = plain(c.old)
        have[fname] = true
      end
    end
  end
  state.id = self.id
  return state
end

--- Called by orm.model once the model is in C: remembers its attributes
-- (a model inheriting from it takes them) and gives models that track
-- fields their history methods.
function M.attach(cls, info)
  if info.attrs then declared[cls] = info.attrs end
  if info.tracked then
    rawset(cls, "history", M.history)
    rawset(cls, "at", M.at)
  end
end

return M
