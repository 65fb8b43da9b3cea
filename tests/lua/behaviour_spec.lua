-- The behaviour suite: runs unchanged on every backend ($EARNORM_TEST_DB).
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

orm.model("test.thing", { name = f.Char{ required = true }, n = f.Integer{} })

describe("behaviour on " .. h.backend, function()
  local env
  before_each(function() env = h.fresh_env() end)

  it("creates and reads a record", function()
    local r = env["test.thing"]:create{ name = "a", n = 3 }
    assert.are.equal(1, #r)
    assert.are.equal("a", r.name)
    assert.are.equal(3, r.n)
  end)
end)
