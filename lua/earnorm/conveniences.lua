--- The Odoo conveniences of recordsets: archiving (action_archive,
-- action_unarchive), name_search and display_name, default_get,
-- fields_get, grouped and search_fetch.
--
-- Archived records are hidden in C, where every path meets: binding a
-- search domain adds `active = true` (core/domain/bind.c, keyed by the
-- recordset's context active_test, read in bindings/lua/recordset.c), and
-- x2many values leave archived records out as they are read. This module
-- only archives and unarchives.
--
-- The methods go into earnorm.recordset's methods table; earnorm.model
-- loads this module before it builds the class API from that table, so a
-- field cannot take one of these names (reserved_why). display_name is
-- not a method but a property rs_index asks this module for; a field
-- named display_name takes its place.
--
-- Model code reaches these methods through its records: every table they
-- return is new, and none is the ORM's own (fields_get reads the C
-- metadata, default_get copies the declared defaults).
local core = require "earnorm.core"
local Recordset = require "earnorm.recordset"

local R = Recordset.methods
local class_state = Recordset.class_state

local format = string.format

local M = {}

local function class_of(recs) return class_state[core.class(recs)] end

local function arg_error(self, method, msg)
  local name = core.model_name(self)
  error(core.new_error("EINVAL", format("%s: %s: %s", name, method, msg), name), 3)
end

local function describe(v)
  if type(v) == "string" then return format("%q", v) end
  if core.is_recordset(v) then return tostring(v) end
  return "a " .. type(v)
end

-- A method called with more arguments than it takes: the first extra one
-- is named, not dropped.
local function no_more(self, method, sig, max, ...)
  if select("#", ...) > 0 then
    arg_error(self, method, format("unexpected argument #%d (%s): it takes %s", max + 1,
                                   describe((...)), sig))
  end
end

local function check_domain(self, method, domain)
  if domain ~= nil and (type(domain) ~= "table" or core.is_recordset(domain) or
                        domain == core.null) then
    arg_error(self, method, "a domain must be a list of leaves (a table), got " .. describe(domain))
  end
end

local function check_names(self, method, names, what)
  if names == nil then return end
  if type(names) ~= "table" or core.is_recordset(names) or names == core.null then
    arg_error(self, method, format("%s must be a list of names, got %s", what, describe(names)))
  end
  for i, n in ipairs(names) do
    if type(n) ~= "string" then
      arg_error(self, method, format("%s[%d] must be a name (a string), got %s", what, i,
                                     describe(n)))
    end
  end
end

-- The fields of the model, in declaration order (id first), from C.
local function field_names(infos)
  local out = {}
  for i, f in ipairs(infos) do out[i] = f.name end
  return out
end

local function unknown(self, method, what, name, known)
  local close = core.closest(name, known)
  arg_error(self, method, format("no %s '%s'%s", what, name,
                                 close and format(" (did you mean '%s'?)", close) or ""))
end

-- ---------------------------------------------------------------------
-- Archiving

local function active_name(self, method)
  local af = core.model_info(self).active
  if not af then
    arg_error(self, method, "the model has no 'active' field (a stored Boolean) to archive with")
  end
  return af
end

--- Archive the records (active = false); those archived already are left
-- alone, so write handlers see only the records that change.
function R:action_archive(...)
  no_more(self, "action_archive", "no argument", 0, ...)
  local af = active_name(self, "action_archive")
  local recs = self:filtered(function(rec) return rec[af] end)
  if #recs > 0 then recs:write{ [af] = false } end
  return true
end

--- Unarchive the records (active = true).
function R:action_unarchive(...)
  no_more(self, "action_unarchive", "no argument", 0, ...)
  local af = active_name(self, "action_unarchive")
  local recs = self:filtered(function(rec) return not rec[af] end)
  if #recs > 0 then recs:write{ [af] = true } end
  return true
end

-- ---------------------------------------------------------------------
-- display_name and name_search

--- How deep a display_name may follow Many2one _rec_names (a cycle of
-- records naming each other would never end).
M.MAX_NAME_DEPTH = 32

local function display_name(recs, depth)
  local n = #recs
  if n == 0 then return nil end
  if n > 1 then
    local name = core.model_name(recs)
    error(core.new_error("EINVAL", format(
      "%s: reading 'display_name' on a recordset of %d records (expected one: use mapped() or iterate)",
      name, n), name, "display_name"), 0)
  end
  local rn = core.rec_name(recs)
  if not rn then return core.model_name(recs) .. "," .. tostring(recs.id) end
  local v = recs[rn]
  if core.is_recordset(v) then
    if depth >= M.MAX_NAME_DEPTH then
      local name = core.model_name(recs)
      error(core.new_error("ELIMIT", format(
        "%s: display_name follows _rec_name '%s' more than %d records deep (a cycle?)", name, rn,
        M.MAX_NAME_DEPTH), name, rn), 0)
    end
    return display_name(v, depth + 1)
  end
  if v == nil or v == false then return nil end
  return tostring(v)
end

--- rec.display_name (bindings/lua/recordset.c asks): the value of the
-- model's _rec_name field as text (a Many2one gives its record's
-- display_name), nil when unset; "model,id" when the model has no
-- _rec_name, as Odoo's.
function M.display_name(recs) return display_name(recs, 0) end
core.set_display_name_hook(M.display_name)

--- name_search(name, domain, operator, limit) -> { {id, display_name}, ... }
-- Odoo's: the records whose _rec_name matches `name` with `operator`
-- (default "ilike") among those matching `domain`, in the model's order,
-- at most `limit` (default 100). An empty name with like/ilike matches
-- every record.
function R:name_search(name, domain, operator, limit, ...)
  no_more(self, "name_search", "(name, domain, operator, limit)", 4, ...)
  if name == nil then name = "" end
  if type(name) ~= "string" then
    arg_error(self, "name_search", "name must be a string, got " .. describe(name))
  end
  check_domain(self, "name_search", domain)
  if operator == nil then operator = "ilike" end
  if type(operator) ~= "string" then
    arg_error(self, "name_search", "operator must be a string like \"ilike\", got " ..
              describe(operator))
  end
  if limit == nil then limit = 100 end
  if math.type(limit) ~= "integer" or limit <= 0 then
    arg_error(self, "name_search", "limit must be a positive integer, got " .. describe(limit))
  end
  local dom = {}
  for i, term in ipairs(domain or {}) do dom[i] = term end
  if not (name == "" and (operator == "ilike" or operator == "like")) then
    local rn = core.rec_name(self)
    if not rn then
      arg_error(self, "name_search", "the model has no _rec_name field to match a name against "
                .. "(declare _rec_name, or a field called name)")
    end
    dom[#dom + 1] = { rn, operator, name }
  end
  local out = {}
  for rec in core.each(self:search(dom, { limit = limit })) do
    out[#out + 1] = { rec.id, rec.display_name } -- a display_name field comes first
  end
  return out
end

-- ---------------------------------------------------------------------
-- default_get

local function copy_value(v, seen)
  if type(v) ~= "table" or v == core.null then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local t = {}
  seen[v] = t
  for k, x in pairs(v) do t[copy_value(k, seen)] = copy_value(x, seen) end
  local mt = getmetatable(v) -- the marks of orm.json.object / array
  if type(mt) == "table" then setmetatable(t, mt) end
  return t
end

--- default_get(fields) -> { field = default, ... }: the defaults
-- create() would use for the fields named (nil: every field): a context
-- `default_<field>` key first (Recordset.context_defaults), else a
-- `default = function(model)` is called, a value is copied. Fields with
-- no default are left out; a Many2one default given as a record is its
-- id, an x2many one a list of ids.
function R:default_get(names, ...)
  no_more(self, "default_get", "(fields)", 1, ...)
  check_names(self, "default_get", names, "fields")
  local cls = class_of(self)
  local ctxd = Recordset.context_defaults(self, cls, "default_get") or {}
  local out = {}
  for _, n in ipairs(names or cls._field_order) do
    local spec = cls._fields[n]
    if not spec then
      if n ~= "id" then unknown(self, "default_get", "field", n, cls._field_order) end
    else
      local v
      local fn = cls._default_fns[n]
      if ctxd[n] ~= nil then
        v = copy_value(ctxd[n])
      elseif fn then
        v = fn(self)
        core.check_default(self, n, v)
      else
        v = copy_value(spec.default)
      end
      if core.is_recordset(v) then
        if spec.type == "Many2one" then
          v = #v > 0 and v.id or nil
        else
          v = v.ids
        end
      end
      if v ~= nil then out[n] = v end
    end
  end
  return out
end

-- ---------------------------------------------------------------------
-- fields_get

-- Odoo's type names (Decimal and Json keep their own).
local ODOO_TYPE = {
  Id = "integer", Char = "char", Text = "text", Integer = "integer", Float = "float",
  Boolean = "boolean", Date = "date", Datetime = "datetime", Selection = "selection",
  Json = "json", Decimal = "decimal", Binary = "binary", Many2one = "many2one",
  One2many = "one2many", Many2many = "many2many", Html = "html", Monetary = "monetary",
  Reference = "reference", Properties = "properties",
}

local ATTRIBUTES = { "type", "name", "string", "help", "required", "readonly", "store",
                     "searchable", "sortable", "groupable", "relation", "relation_field",
                     "selection", "digits", "size", "depends", "currency_field", "sanitize",
                     "definition_record", "definition_record_field", "delegated" }
local IS_ATTRIBUTE = {}
for _, a in ipairs(ATTRIBUTES) do IS_ATTRIBUTE[a] = true end

local NOT_GROUPABLE = { Binary = true, Json = true, Text = true, One2many = true,
                        Many2many = true, Html = true, Properties = true }

-- The { value, label } pairs of a Selection: values from C, labels as
-- declared ({ value, label } items), else the value.
local function selection_of(cls, info)
  local labels = {}
  local spec = cls._fields[info.name]
  for _, c in ipairs(spec and type(spec.choices) == "table" and spec.choices or {}) do
    if type(c) == "table" and type(c[1]) == "string" and type(c[2]) == "string" then
      labels[c[1]] = c[2]
    end
  end
  local out = {}
  for i, v in ipairs(info.choices) do out[i] = { v, labels[v] or v } end
  return out
end

local function describe_field(cls, info, self)
  local x2many = info.type == "One2many" or info.type == "Many2many"
  local persistent = info.stored or x2many
  local d = {
    type = ODOO_TYPE[info.type] or info.type:lower(),
    name = info.name,
    string = info.string,
    help = info.help,
    required = info.required,
    readonly = info.readonly or info.computed or info.type == "Id",
    store = persistent,
    searchable = persistent,
    sortable = info.stored and not x2many,
    groupable = info.stored and not NOT_GROUPABLE[info.type],
    relation = info.comodel,
    relation_field = info.type == "One2many" and info.inverse or nil,
    size = info.size,
    digits = info.digits,
    depends = info.depends,
  }
  local dl = cls._delegated and cls._delegated[info.name]
  if dl then
    -- a parent's field through _inherits: not stored on the child, but
    -- written, searched and ordered on as the parent's own
    local spec = cls._fields[info.name]
    local ps = class_of(self.env[dl.parent])._fields[dl.field]
    d.readonly = spec.readonly == true
    d.required = ps.required == true
    d.searchable, d.sortable = true, not x2many
    d.delegated = { model = dl.parent, field = dl.via }
  end
  if info.type == "Selection" then d.selection = selection_of(cls, info) end
  if info.type == "Monetary" then d.currency_field = info.currency_field end
  if info.type == "Html" then d.sanitize = false end -- not built yet: refused when asked
  if info.type == "Reference" then
    -- Odoo's { model, label } pairs: the label is the model's description
    d.selection = {}
    for i, m in ipairs(info.models) do
      d.selection[i] = { m, core.model_info(self.env[m]).description }
    end
  end
  if info.type == "Properties" then
    d.definition_record = info.definition
    d.definition_record_field = info.definition_field
  end
  return d
end

-- display_name when no field has the name: what rs_index gives.
local function describe_display_name(self)
  local rn = core.rec_name(self)
  return { type = "char", name = "display_name", string = "Display Name", required = false,
           readonly = true, store = false, searchable = false, sortable = false,
           groupable = false, depends = { rn } }
end

--- fields_get(fields, attributes) -> { name = { type =, string =, ... } }
-- Odoo's: a description of each field named (nil: all, with id and
-- display_name), with the attributes named (nil: all of type, name,
-- string, help, required, readonly, store, searchable, sortable,
-- groupable, relation, relation_field, selection, digits, size, depends,
-- currency_field (Monetary), sanitize (Html), definition_record and
-- definition_record_field (Properties), delegated ({ model =, field =}:
-- the parent model and the child's Many2one to it, for a field of a
-- parent through _inherits)
-- that apply). Types are Odoo's names ("char", "many2one").
function R:fields_get(names, attributes, ...)
  no_more(self, "fields_get", "(fields, attributes)", 2, ...)
  check_names(self, "fields_get", names, "fields")
  check_names(self, "fields_get", attributes, "attributes")
  for _, a in ipairs(attributes or {}) do
    if not IS_ATTRIBUTE[a] then unknown(self, "fields_get", "attribute", a, ATTRIBUTES) end
  end
  local cls = class_of(self)
  local infos = core.fields_info(self)
  local by_name = {}
  for _, info in ipairs(infos) do by_name[info.name] = info end
  local function describe_one(n)
    if by_name[n] then return describe_field(cls, by_name[n], self) end
    if n == "display_name" then return describe_display_name(self) end
    local known = field_names(infos)
    known[#known + 1] = "display_name"
    unknown(self, "fields_get", "field", n, known)
  end
  local list = names
  if list == nil then
    list = field_names(infos)
    if not by_name.display_name then list[#list + 1] = "display_name" end
  end
  local out = {}
  for _, n in ipairs(list) do
    local d = describe_one(n)
    if attributes then
      local only = {}
      for _, a in ipairs(attributes) do only[a] = d[a] end
      d = only
    end
    out[n] = d
  end
  return out
end

-- ---------------------------------------------------------------------
-- grouped

--- grouped(key) -> { key = records, ... }: the records split by a field's
-- value (a Many2one by the related record's id) or by what key(rec)
-- returns (a record returned groups by its id); records without a value
-- (nil, orm.null, an empty Many2one) are under `false`. Each group keeps the records' order.
function R:grouped(key, ...)
  no_more(self, "grouped", "(key)", 1, ...)
  local fn
  if type(key) == "string" then
    local cls = class_of(self)
    local spec = cls._fields[key]
    if not spec and key ~= "id" and key ~= "display_name" then
      unknown(self, "grouped", "field", key, cls._field_order)
    end
    if spec and (spec.type == "One2many" or spec.type == "Many2many") then
      arg_error(self, "grouped", format("'%s' is an x2many field: group by a function of the "
                                        .. "record instead", key))
    end
    fn = function(rec)
      local v = rec[key]
      if core.is_recordset(v) then return #v > 0 and v.id or false end
      return v
    end
  elseif type(key) == "function" then
    fn = key
  else
    arg_error(self, "grouped", "expected a field name or a function, got " .. describe(key))
  end
  local pos = {}
  local i = 0
  for rec in core.each(self) do
    i = i + 1
    local k = fn(rec)
    if k == nil or k == core.null then k = false end
    if core.is_recordset(k) then
      -- a record groups by its id, as grouped("parent_id") does (each
      -- rec.parent_id is a new object: as a table key it would split)
      if #k > 1 then
        arg_error(self, "grouped", format("the key of %s is a recordset of %d records (return one "
                                          .. "record, its id or a field value)", tostring(rec), #k))
      end
      k = #k == 1 and k.id or false
    end
    if k ~= k then arg_error(self, "grouped", "the key of a record is NaN") end
    local list = pos[k]
    if not list then
      list = {}
      pos[k] = list
    end
    list[#list + 1] = i
  end
  local out = {}
  for k, list in pairs(pos) do out[k] = core.pick(self, list) end
  return out
end

-- ---------------------------------------------------------------------
-- search_fetch

local FETCH_OPTS = { "order", "limit", "offset" }

--- search_fetch(domain, fields, { order =, limit =, offset = }) -> records
-- A search that loads `fields` (nil: every prefetchable stored field) of
-- the records found in the same query, so reading them after costs none.
-- x2many fields are loaded next (one query each), non-stored computed ones
-- computed.
function R:search_fetch(domain, names, opts, ...)
  no_more(self, "search_fetch", "(domain, fields, opts)", 3, ...)
  check_domain(self, "search_fetch", domain)
  check_names(self, "search_fetch", names, "fields")
  core.check_options(opts, FETCH_OPTS, core.model_name(self) .. ": search_fetch")
  opts = opts or {}
  local cls = class_of(self)
  local stored, x2many, computed = nil, {}, {}
  if names then
    stored = {}
    for _, n in ipairs(names) do
      local s = cls._fields[n]
      if n:find(".", 1, true) then
        arg_error(self, "search_fetch", format("'%s' is a path: search_fetch loads the model's own "
                                               .. "fields (use prefetch for paths)", n))
      elseif n == "id" then
        -- always there
      elseif not s then
        unknown(self, "search_fetch", "field", n, cls._field_order)
      elseif cls._x2many[n] then
        x2many[#x2many + 1] = n
      elseif s.compute and not s.store then
        computed[#computed + 1] = n
      else
        stored[#stored + 1] = n
      end
    end
  end
  local recs = core.search_fetch(self, Recordset.rewrite_domain(self, domain) or {}, stored,
                                 opts.order, opts.limit, opts.offset)
  if #recs > 0 then
    for _, n in ipairs(x2many) do core.prefetch(recs, n) end
    for _, n in ipairs(computed) do
      local missing = core.uncached(recs, n)
      if #missing > 0 then Recordset.compute_missing(missing, n) end
    end
  end
  return recs
end

return M
