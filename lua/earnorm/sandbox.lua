--- The sandbox model files run in: an allow-list of globals, `require`
-- limited to earnorm's public modules, and an error on reading any
-- undefined global (a typo is a bug, not a nil).
local core = require "earnorm.core"
local errors = require "earnorm.errors"

local M = {}

local ALLOWED = { "assert", "error", "ipairs", "next", "pairs", "pcall", "print", "rawequal",
                  "rawget", "rawlen", "rawset", "select", "setmetatable", "getmetatable",
                  "tonumber", "tostring", "type", "xpcall", "string", "table", "math",
                  "utf8", "coroutine" }

local function safe_require(name)
  if type(name) == "string" and (name == "earnorm" or name:match("^earnorm%.")) and
     name ~= "earnorm.core" then
    return require(name)
  end
  error(string.format("require(%q) is not allowed in a model file (only earnorm modules)",
                      tostring(name)), 2)
end

-- Library tables a model file gets a copy of: what it sets in them (math.pi
-- = 3, table.insert = nil) stays in its sandbox, as its globals do.
local LIBS = { string = true, table = true, math = true, utf8 = true, coroutine = true }

--- A fresh environment table for one model file.
function M.new_env()
  local env = {}
  for _, k in ipairs(ALLOWED) do
    local v = _G[k]
    if LIBS[k] then
      local copy = {}
      for name, fn in pairs(v) do copy[name] = fn end
      v = copy
    end
    env[k] = v
  end
  env.os = { time = os.time, date = os.date, clock = os.clock, difftime = os.difftime,
             getenv = os.getenv }
  env.require = safe_require
  env._G = env
  return setmetatable(env, {
    __index = function(_, k)
      error(string.format("undefined global '%s'", tostring(k)), 2)
    end,
  })
end

--- Run one model file; returns what it returns (its model, usually).
function M.run_model_file(path)
  local chunk, err = loadfile(path, "t", M.new_env())
  if not chunk then
    -- err is "path:line: message" for syntax errors
    error(core.new_error("EINVAL", err, nil, nil, "LUA"), 0)
  end
  local ok, res = pcall(chunk)
  if not ok then
    if core.is_error(res) then error(res, 0) end
    error(core.new_error("ERROR", tostring(res), nil, nil, "LUA"), 0)
  end
  return res
end

return M
