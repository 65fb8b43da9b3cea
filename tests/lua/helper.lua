-- Loaded by busted before every spec (--helper): shared fixtures.
--   local h = require "helper"
--   local env = h.fresh_env()      -- a connection to $EARNORM_TEST_DB, emptied
--   h.url                          -- the URL under test
local src = os.getenv("EARNORM_SOURCE_DIR") or "."
package.path = src .. "/tests/lua/?.lua;" .. package.path

local orm = require "earnorm"

local M = {}
M.url = os.getenv("EARNORM_TEST_DB") or "sqlite::memory:"
M.backend = M.url:match("^([%w]+):")
M.bin = os.getenv("EARNORM_BIN") or "earnorm"
M.src = src

--- A fresh connection: for a SQLite file the file is removed first; on
-- servers every table of a declared model is emptied after migrate.
function M.fresh_env(opts)
  opts = opts or {}
  local path = M.url:match("^sqlite://(.+)$")
  if path and path ~= ":memory:" then
    for _, suffix in ipairs({ "", "-wal", "-shm" }) do os.remove(path .. suffix) end
  end
  local env = orm.connect{ database = M.url, log_queries = opts.log_queries }
  env:migrate()
  if not path then
    -- archived records too (searches hide them by default); abstract models have no records
    for name, cls in pairs(orm.models) do
      if not cls._abstract then env[name]:with_context{ active_test = false }:search{}:unlink() end
    end
  end
  return env
end

--- What the server under test can do (env:capabilities(), asked once).
local caps
function M.caps()
  if not caps then
    local env = orm.connect{ database = M.url }
    caps = env:capabilities()
    env:close()
  end
  return caps
end

--- Run the earnorm interpreter; returns stdout+stderr and the exit status.
function M.run(args, input)
  local cmd = M.bin .. " " .. args .. " 2>&1"
  if input then
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "w"))
    f:write(input)
    f:close()
    cmd = cmd .. " < " .. tmp
  end
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

--- The error an expression raises (fails when it raises none).
function M.error_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error, got none")
  return err
end

package.loaded.helper = M
return M
