-- The engine harness's model (tests/fuzz/fuzz_engine_json.c): a field of
-- every type, as the C fixture of fuzz_common.c declares them.
local orm = require "earnorm"
local f = orm.fields

local Item = orm.model("fz.item", {
  _description = "Fuzz item",
  _order = "name, id",
  name      = f.Char{ required = true, size = 32, index = true },
  code      = f.Char{ unique = true },
  notes     = f.Text{},
  qty       = f.Integer{ min = 0, max = 1000 },
  ratio     = f.Float{},
  active    = f.Boolean{ default = true },
  day       = f.Date{},
  at        = f.Datetime{},
  state     = f.Selection{ choices = { "draft", "done" } },
  data      = f.Json{},
  price     = f.Decimal{ digits = { 12, 2 } },
  blob      = f.Binary{},
  label     = f.Char{ compute = "_compute_label", depends = { "name", "qty" } },
  parent_id = f.Many2one{ "fz.item", ondelete = "set null" },
  child_ids = f.One2many{ "fz.item", "parent_id" },
  tag_id    = f.Many2one{ "fz.tag" },
  tag_ids   = f.Many2many{ "fz.tag" },
})

function Item:_compute_label()
  for rec in self:each() do
    rec.label = rec.name .. "#" .. tostring(rec.qty or "")
  end
end

return Item
