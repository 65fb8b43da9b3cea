--- Sub-record types for Embedded and List fields (docs/models.md, "Composition").
--
--   orm.embedded("address", {
--     street  = f.Char{},
--     city    = f.Char{ required = true },
--     zip     = f.Char{ size = 10 },
--     country = f.Char{ default = "FR" },
--   })
--   orm.model("res.partner", { address = f.Embedded{ "address" },
--                              items = f.List{ f.Embedded{ "line_item" } } })
--
-- A type is declared once, before or after the models using it (the
-- registry resolves the names before the first operation), and is not a
-- model: no table, no records, no methods. Its fields are plain fields;
-- their checks and defaults run in C (core/embedded.c) on every write.
local core = require "earnorm.core"
local fields = require "earnorm.fields"

local M = {}

--- Declare the sub-record type `name` with the fields of `spec`.
function M.define(name, spec)
  if type(name) ~= "string" then
    error(core.new_error("EINVAL", "orm.embedded(name, fields): the name must be a string like \"address\""), 2)
  end
  if type(spec) ~= "table" then
    error(core.new_error("EINVAL", string.format("orm.embedded %s: the fields must be a table, got %s",
                                                 name, type(spec))), 2)
  end
  local list = {}
  for k, v in pairs(spec) do
    if type(k) ~= "string" or not fields.is_field(v) then
      error(core.new_error("EINVAL", string.format(
        "orm.embedded %s: %s: expected a field declaration (orm.fields.Char{...} and the like)%s, got %s",
        name, tostring(k), type(k) == "string" and k:sub(1, 1) == "_" and " (a sub-record type takes no attributes)" or "",
        type(v))), 2)
    end
    list[#list + 1] = { name = k, spec = v }
  end
  if #list == 0 then
    error(core.new_error("EINVAL", string.format("orm.embedded %s: a sub-record type needs fields", name)), 2)
  end
  table.sort(list, function(a, b) return a.spec._seq < b.spec._seq end)
  core.define_embedded(name, list)
  return name
end

return M
