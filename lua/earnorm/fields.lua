--- Field declarations: f.Char{ required = true, size = 64 }, f.Many2one{ "res.partner" }.
-- A declaration is a plain table tagged with its type; orm.model() turns it
-- into C metadata. Options:
--   string, help, required, readonly, index, unique, default (a value or a
--   function(model) returning one), compute (method name or function),
--   depends (list of field names), store (for computed fields), copy;
--   Char: size; Integer/Float/Decimal: min, max; Decimal: digits = {p, s};
--   Selection: choices = {...}; Many2one: comodel (first item), ondelete.
local M = {}

local TYPES = { "Char", "Text", "Integer", "Float", "Boolean", "Date", "Datetime",
                "Selection", "Json", "Decimal", "Binary", "Many2one", "One2many",
                "Many2many" }

local FieldMT = { __name = "earnorm.Field" }
-- Lua tables forget key order; a counter keeps fields in the order written.
local seq = 0
function FieldMT:__tostring() return "earnorm.fields." .. self.type end

for _, t in ipairs(TYPES) do
  M[t] = function(opts)
    opts = opts or {}
    if type(opts) ~= "table" then
      error(string.format("fields.%s: options must be a table, got %s", t, type(opts)), 2)
    end
    seq = seq + 1
    local spec = { type = t, _seq = seq }
    for k, v in pairs(opts) do spec[k] = v end
    if t == "Many2one" or t == "One2many" or t == "Many2many" then
      spec.comodel = spec.comodel or opts[1]
      if t == "One2many" then spec.inverse = spec.inverse or opts[2] end
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
