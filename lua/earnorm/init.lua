--- EarnORM: the public Lua API.
--
--   local orm = require "earnorm"
--   local Partner = orm.model("res.partner", { name = orm.fields.Char{ required = true } })
--   local env = orm.connect("sqlite://demo.db")
--
-- Everything here is a thin layer over the private C module earnorm.core:
-- data stays in C, Lua holds references.
local core = require "earnorm.core"
local errors = require "earnorm.errors"
local fields = require "earnorm.fields"
local model = require "earnorm.model"
local envmod = require "earnorm.env"

local M = {}

M.VERSION = core.VERSION
M.fields = fields
M.Command = require "earnorm.command"
M.null = core.null
M.model = model.define
M.embedded = require("earnorm.embedded").define
M.models = model.registry
M.connect = envmod.connect
M.on = envmod.on
M.load_models = model.load_models
M.Error = errors.Error
M.ValidationError = errors.ValidationError
M.is_error = errors.is_error
M.is_recordset = core.is_recordset
--- Quote % _ and \ in a string so like/ilike match it literally.
M.like_escape = core.like_escape
--- Plain JSON, taken literally (no extended-JSON wrappers). An empty table
-- is written as [] unless marked with orm.json.object; "{}" decodes to a
-- table so marked. NaN, Infinity, cycles, holes and tables mixing list
-- items with keys are errors naming the path. See docs/models.md.
M.json = {
  encode = core.json_encode,
  decode = core.json_decode,
  object = function(t) return core.json_mark(t, "object") end,
  array = function(t) return core.json_mark(t, "array") end,
}

return M
