-- A contact: the model the quickstart and the C host example use.
local orm = require "earnorm"
local f = orm.fields

local Partner = orm.model("res.partner", {
  _description = "Contact",
  _order = "name",
  name      = f.Char{ required = true, size = 128, index = true },
  email     = f.Char{ unique = true },
  age       = f.Integer{ min = 0, max = 150 },
  score     = f.Float{},
  active    = f.Boolean{ default = true },
  birthday  = f.Date{},
  seen_at   = f.Datetime{},
  kind      = f.Selection{ choices = { "person", "company" }, default = "person" },
  notes     = f.Text{},
  data      = f.Json{},
  price     = f.Decimal{ digits = { 12, 2 } },
  parent_id = f.Many2one{ "res.partner", ondelete = "set null" },
  display   = f.Char{ compute = "_compute_display", depends = { "name", "email" }, store = true },
})

function Partner:_compute_display()
  for rec in self:each() do
    rec.display = rec.name .. " <" .. (rec.email or "") .. ">"
  end
end

Partner:constrains({ "age", "kind" }, function(recs)
  for rec in recs:each() do
    if rec.kind == "company" and rec.age ~= nil then
      error(orm.ValidationError{ "a company has no age", field = "age" })
    end
  end
end)

-- Normalise e-mail addresses before they are stored.
Partner:on("before_create", function(_, vals_list)
  for _, vals in ipairs(vals_list) do
    if type(vals.email) == "string" then vals.email = vals.email:lower() end
  end
end)

--- A method callable on any recordset of partners.
function Partner:greeting()
  self:ensure_one()
  return "Hello, " .. self.name .. "!"
end

return Partner
