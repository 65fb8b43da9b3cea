--- Properties fields: typed values checked against a schema per record type.
--
--   props = f.Properties{ definition = "type_id" }
--
-- `definition` is a Many2one of the same model; the record it points to
-- holds the schema in a Json field (`definition_field`, by default
-- "properties_definition"): a list of
--   { name = "color", type = "selection", string = "Color",
--     selection = { "red", "blue" }, default = "red" }
-- with type one of char, integer, float, boolean, date, selection.
--
-- create and write call prepare_create / prepare_write (earnorm.recordset):
-- a value is a table of property values; an unknown name is refused naming
-- the closest known one, a value of the wrong type is refused, a property
-- left out takes its default, nil / orm.null / false (but for booleans)
-- leave it unset. A write sets the whole value; on several records with
-- different definitions it is checked (and defaulted) per definition, one
-- write each. A write that changes the definition without giving the
-- value resets it to the new definition's defaults.
--
-- The core stores the value as Json (an object of scalars: core/types),
-- so the checks here are the schema's only; C hosts reach them through
-- the same create and write.
local core = require "earnorm.core"

local M = {}

local TYPES = { "char", "integer", "float", "boolean", "date", "selection" }
local IS_TYPE = {}
for _, t in ipairs(TYPES) do IS_TYPE[t] = true end
local ITEM_KEYS = { name = true, type = true, string = true, selection = true, default = true }
local ITEM_KEY_LIST = { "name", "type", "string", "selection", "default" }

local function fail(code, msg, model, field)
  error(core.new_error(code, msg, model, field), 0)
end

local function is_date(s)
  local y, m, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return false end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if y < 1 or m < 1 or m > 12 or d < 1 then return false end
  local days = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
  if m == 2 and (y % 4 == 0 and y % 100 ~= 0 or y % 400 == 0) then return d <= 29 end
  return d <= days[m]
end

local function show(v)
  if type(v) == "string" then return string.format("%q", #v > 40 and v:sub(1, 37) .. "..." or v) end
  return tostring(v)
end

-- The value v converted to property p's type, or nil and why not.
local function convert(p, v)
  local t = p.type
  if t == "char" then
    if type(v) == "string" then return v end
    return nil, "a string"
  elseif t == "integer" then
    if math.type(v) == "integer" then return v end
    if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2^53 then
      return math.tointeger(v)
    end
    return nil, "an integer"
  elseif t == "float" then
    if type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge then return v + 0.0 end
    return nil, "a finite number"
  elseif t == "boolean" then
    if type(v) == "boolean" then return v end
    return nil, "a boolean"
  elseif t == "date" then
    if type(v) == "string" and is_date(v) then return v end
    return nil, "a date 'YYYY-MM-DD'"
  else -- selection
    if type(v) == "string" and p.values[v] then return v end
    return nil, "one of: " .. table.concat(p.value_list, ", ")
  end
end

-- The schema held by definition record `drec` in field `dfield`, checked:
-- { list = { p... }, by_name = { name = p }, names = { ... } }.
local function schema_of(drec, dfield, where)
  local raw = drec[dfield]
  local label = string.format("%s(%s).%s", drec._name, tostring(drec.id), dfield)
  local s = { list = {}, by_name = {}, names = {} }
  if raw == nil then return s end
  if type(raw) ~= "table" or (next(raw) ~= nil and raw[1] == nil) then
    fail("EINVAL", string.format("%s: the schema of %s must be a list of properties", where,
                                 label))
  end
  for i, item in ipairs(raw) do
    local at = string.format("%s: the schema of %s, property %d", where, label, i)
    if type(item) ~= "table" then fail("EINVAL", at .. ": must be a table") end
    for k in pairs(item) do
      if not ITEM_KEYS[k] then
        local close = type(k) == "string" and core.closest(k, ITEM_KEY_LIST)
        fail("EINVAL", string.format("%s: unknown key '%s'%s", at, tostring(k),
                                     close and string.format(" (did you mean '%s'?)", close) or ""))
      end
    end
    local name, t = item.name, item.type
    if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") or #name > 60 then
      fail("EINVAL", at .. ": name must be a name of letters, digits and '_'")
    end
    if s.by_name[name] then fail("EINVAL", at .. ": property '" .. name .. "' is defined twice") end
    if not IS_TYPE[t] then
      local close = type(t) == "string" and core.closest(t, TYPES)
      fail("EINVAL", string.format("%s ('%s'): unknown type %s%s (one of: %s)", at, name, show(t),
                                   close and string.format(" (did you mean '%s'?)", close) or "",
                                   table.concat(TYPES, ", ")))
    end
    local p = { name = name, type = t, string = item.string }
    if t == "selection" then
      if type(item.selection) ~= "table" or item.selection[1] == nil then
        fail("EINVAL", at .. " ('" .. name .. "'): a selection property needs selection = { ... }")
      end
      p.values, p.value_list = {}, {}
      for _, c in ipairs(item.selection) do
        local v = type(c) == "table" and c[1] or c
        if type(v) ~= "string" then
          fail("EINVAL", at .. " ('" .. name .. "'): selection values are strings")
        end
        p.values[v] = true
        p.value_list[#p.value_list + 1] = v
      end
    elseif item.selection ~= nil then
      fail("EINVAL", at .. " ('" .. name .. "'): selection applies to selection properties only")
    end
    if item.default ~= nil and item.default ~= core.null then
      local d, want = convert(p, item.default)
      if d == nil then
        fail("EINVAL", string.format("%s ('%s'): the default %s is not %s", at, name,
                                     show(item.default), want))
      end
      p.default = d
    end
    s.list[#s.list + 1] = p
    s.by_name[name] = p
    s.names[#s.names + 1] = name
  end
  return s
end

-- The checked value of field `fname` for schema s (value as given).
local function check_value(model, fname, s, value, has_definition)
  local out = {}
  if value == nil or value == core.null or value == false then value = {} end
  if core.is_recordset(value) or type(value) ~= "table" then
    fail("EINVAL", string.format("%s.%s: expected a table of property values, got a %s", model,
                                 fname, core.is_recordset(value) and "recordset" or type(value)),
         model, fname)
  end
  if not has_definition and next(value) ~= nil then
    fail("EINVAL", string.format("%s.%s: the record has no definition, so it takes no properties",
                                 model, fname), model, fname)
  end
  for k, v in pairs(value) do
    if type(k) ~= "string" then
      fail("EINVAL", string.format("%s.%s: property names are strings, got %s", model, fname,
                                   show(k)), model, fname)
    end
    local p = s.by_name[k]
    if not p then
      local close = #s.names > 0 and core.closest(k, s.names)
      fail("EINVAL", string.format("%s.%s: unknown property '%s'%s", model, fname, k,
                                   close and string.format(" (did you mean '%s'?)", close)
                                   or (#s.names == 0 and " (the definition has none)" or "")),
           model, fname)
    end
    if v == core.null or (v == false and p.type ~= "boolean") then
      out[k] = nil
    else
      local c, want = convert(p, v)
      if c == nil then
        fail("EINVAL", string.format("%s.%s: property '%s' (%s) must be %s, got %s %s", model,
                                     fname, k, p.type, want, type(v), show(v)), model, fname)
      end
      out[k] = c
    end
  end
  for _, p in ipairs(s.list) do
    if value[p.name] == nil and p.default ~= nil then out[p.name] = p.default end
  end
  return core.json_mark(out, "object")
end

-- The Properties fields of class cls, { name = spec } or false, cached
-- until fields are added to the class (_inherit).
local by_class = setmetatable({}, { __mode = "k" })
local function props_fields(cls)
  local c = by_class[cls]
  local n = #cls._field_order
  if c and c.n == n then return c.list end
  local list = false
  for name, spec in pairs(cls._fields) do
    if spec.type == "Properties" then
      list = list or {}
      list[name] = spec
    end
  end
  by_class[cls] = { n = n, list = list }
  return list
end

-- The Properties fields of class cls whose definition or value vals touches.
local function touched(cls, vals)
  local all = props_fields(cls)
  if not all then return nil end
  local list
  for name, spec in pairs(all) do
    if vals[name] ~= nil or vals[spec.definition] ~= nil then
      list = list or {}
      list[name] = spec
    end
  end
  return list
end

local function id_of(v)
  if v == nil or v == false or v == core.null then return nil end
  if core.is_recordset(v) then return #v > 0 and v.id or nil end
  return v
end

-- The schema of the definition record `id` (cached in `seen` by id).
local function schema_for(env, cls, spec, id, seen, where)
  if id == nil then return { list = {}, by_name = {}, names = {} } end
  local key = tostring(id)
  if seen[key] then return seen[key] end
  local comodel = cls._fields[spec.definition].comodel
  local drec = env[comodel]:browse(id)
  if #drec:exists() == 0 then
    fail("ENOTFOUND", string.format("%s: the definition %s(%s) does not exist", where, comodel, key))
  end
  local s = schema_of(drec, spec.definition_field or "properties_definition", where)
  seen[key] = s
  return s
end

--- The value list of a create with its Properties values checked and
-- defaulted (the list itself when nothing is to do).
function M.prepare_create(model_rs, cls, list)
  local all = props_fields(cls)
  if not all then return list end
  local out, seen = nil, {}
  for i, vals in ipairs(list) do
    for name, spec in pairs(all) do
      do
        local where = cls._name .. "." .. name
        local did = id_of(vals[spec.definition])
        seen[name] = seen[name] or {}
        local s = schema_for(model_rs.env, cls, spec, did, seen[name], where)
        local v = check_value(cls._name, name, s, vals[name], did ~= nil)
        if next(v) == nil and vals[name] == nil then v = nil end
        if v ~= nil or vals[name] ~= nil then
          out = out or {}
          if out[i] == nil then
            local c = {}
            for k, x in pairs(vals) do c[k] = x end
            out[i] = c
          end
          out[i][name] = v
        end
      end
    end
  end
  if not out then return list end
  for i, vals in ipairs(list) do out[i] = out[i] or vals end
  return out
end

--- The groups { { recs, vals }... } a write of vals on recs becomes, with
-- Properties values checked per definition; nil when no Properties field
-- is touched.
function M.prepare_write(recs, cls, vals)
  local list = touched(cls, vals)
  if not list then return nil end
  local env = recs.env
  -- group the records by the definitions they will have
  local groups, order = {}, {}
  for rec in core.each(recs) do
    local key, defs = {}, {}
    for name, spec in pairs(list) do
      local did
      if vals[spec.definition] ~= nil then did = id_of(vals[spec.definition])
      else did = id_of(rec[spec.definition]) end
      defs[name] = did
      key[#key + 1] = name .. "=" .. tostring(did)
    end
    table.sort(key)
    local k = table.concat(key, ";")
    local g = groups[k]
    if not g then
      g = { ids = {}, defs = defs }
      groups[k] = g
      order[#order + 1] = k
    end
    g.ids[#g.ids + 1] = rec.id
  end
  local out, seen = {}, {}
  for _, k in ipairs(order) do
    local g = groups[k]
    local v = {}
    for x, y in pairs(vals) do v[x] = y end
    for name, spec in pairs(list) do
      seen[name] = seen[name] or {}
      local where = cls._name .. "." .. name
      local s = schema_for(env, cls, spec, g.defs[name], seen[name], where)
      local pv = check_value(cls._name, name, s, vals[name], g.defs[name] ~= nil)
      if next(pv) == nil then pv = core.null end
      v[name] = pv
    end
    out[#out + 1] = { recs = #order == 1 and recs or recs:browse(g.ids), vals = v }
  end
  return out
end

return M
