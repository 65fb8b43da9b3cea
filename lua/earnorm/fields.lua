--- Field declarations: f.Char{ required = true, size = 64 }, f.Many2one{ "res.partner" }.
-- A declaration is a plain table tagged with its type; orm.model() turns it
-- into C metadata. Options:
--   string, help, required, readonly, index, unique, default (a value or a
--   function(model) returning one), compute (method name or function),
--   depends (field paths, through relations), store, recursive, inverse,
--   search (method names or functions) and related (a path) for computed
--   fields, tracking, copy;
--   Char: size; Integer/Float/Decimal: min, max; Decimal: digits = {p, s};
--   Selection: choices = {...}; Many2one: comodel (first item), ondelete;
--   Html: sanitize (true is refused: not built yet); Monetary: digits, min,
--   max, currency_field (default "currency_id"); Reference: selection =
--   { "model", ... } (required); Properties: definition (the Many2one whose
--   record holds the schema, required), definition_field (its Json field,
--   default "properties_definition").
local core = require "earnorm.core"

local M = {}

local TYPES = { "Char", "Text", "Integer", "Float", "Boolean", "Date", "Datetime",
                "Selection", "Json", "Decimal", "Binary", "Many2one", "One2many",
                "Many2many", "Html", "Monetary", "Reference", "Properties", "Embedded", "List" }

local FieldMT = { __name = "earnorm.Field" }
-- Lua tables forget key order; a counter keeps fields in the order written.
local seq = 0
function FieldMT:__tostring() return "earnorm.fields." .. self.type end

-- Positional arguments each type takes: the comodel, and a One2many's inverse.
local POSITIONAL = { Many2one = 1, Many2many = 1, One2many = 2, Embedded = 1, List = 1 }

for _, t in ipairs(TYPES) do
  M[t] = function(opts)
    opts = opts or {}
    if type(opts) ~= "table" then
      error(core.new_error("EINVAL", string.format("fields.%s: options must be a table, got %s",
                                                   t, type(opts))), 2)
    end
    -- a positional argument a type does not take would be dropped unseen
    local npos = POSITIONAL[t] or 0
    for k, v in pairs(opts) do
      if math.type(k) == "integer" and (k < 1 or k > npos) then
        error(core.new_error("EINVAL", string.format(
          "fields.%s: unexpected positional argument #%d (%s)%s", t, k, tostring(v),
          npos == 0 and ": this type takes only named options"
          or string.format(": it takes %d", npos))), 2)
      end
    end
    seq = seq + 1
    local spec = { type = t, _seq = seq }
    for k, v in pairs(opts) do spec[k] = v end
    if t == "Many2one" or t == "One2many" or t == "Many2many" then
      spec.comodel = spec.comodel or opts[1]
      if t == "One2many" then spec.inverse = spec.inverse or opts[2] end
    end
    if t == "Embedded" then spec.embedded = spec.embedded or opts[1] end
    if t == "List" then
      -- List{ Embedded{ "type" } }: a list of sub-records of that type
      local el = opts[1]
      if getmetatable(el) ~= FieldMT or el.type ~= "Embedded" then
        error(core.new_error("EINVAL", string.format(
          "fields.List: the element must be fields.Embedded{ \"type\" }, got %s (lists of "
          .. "other field types are not supported yet)",
          getmetatable(el) == FieldMT and "fields." .. el.type .. "{}" or type(el))), 2)
      end
      for k in pairs(el) do
        if k ~= "type" and k ~= "_seq" and k ~= "embedded" then
          error(core.new_error("EINVAL", string.format(
            "fields.List: option '%s' of the element does not apply: give the List's options "
            .. "to the List (List{ Embedded{ \"type\" }, required = true })", tostring(k))), 2)
        end
      end
      spec.embedded = el.embedded
    end
    spec[1], spec[2] = nil, nil
    return setmetatable(spec, FieldMT)
  end
end

--- One2one{ "model" }: a unique Many2one. Its other side is
-- One2one{ "model", inverse = "field" }: the one record (or none) whose
-- One2one `field` points here.
function M.One2one(opts)
  opts = opts or {}
  if opts.inverse then
    local spec = {}
    for k, v in pairs(opts) do spec[k] = v end
    spec[2] = spec.inverse
    spec.inverse = nil
    local f = M.One2many(spec)
    f.single = true
    return f
  end
  local f = M.Many2one(opts)
  f.unique = true
  return f
end

function M.is_field(v) return getmetatable(v) == FieldMT end

return M
