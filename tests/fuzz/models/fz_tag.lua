-- Tags for fz.item (tests/fuzz/fuzz_engine_json.c).
local orm = require "earnorm"
local f = orm.fields

return orm.model("fz.tag", {
  _description = "Fuzz tag",
  name      = f.Char{},
  parent_id = f.Many2one{ "fz.tag" },
})
