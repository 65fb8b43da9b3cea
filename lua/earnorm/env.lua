--- Environments: orm.connect(url or options) returns one.
--
--   local env = orm.connect("sqlite://demo.db")
--   local env = orm.connect{ database = "sqlite::memory:", log_queries = true }
--   env["res.partner"]        -- the model, as an empty recordset
--   env:migrate()             -- create/extend tables and indexes
--   env:transaction(function(env) ... end)
--   env:stats(), env:ping(), env:close()
local core = require "earnorm.core"
local model = require "earnorm.model"

local M = {}
local Env = {}

local EnvMT = {
  __name = "earnorm.Env",
  __index = function(self, key)
    local m = Env[key]
    if m ~= nil then return m end
    if type(key) == "string" then return self:model(key) end
    return nil
  end,
  __tostring = function(self) return "earnorm.Env(" .. tostring(self.url) .. ")" end,
}

--- orm.connect(url) or orm.connect{ database = url, log_queries = bool, prefetch = n }
function M.connect(opts)
  if type(opts) == "string" then opts = { database = opts } end
  opts = opts or {}
  if type(opts) ~= "table" then
    error(core.new_error("EINVAL", "orm.connect expects a URL or an options table"), 2)
  end
  local url = opts.database or opts.url or os.getenv("EARNORM_DATABASE_URL") or "sqlite://earnorm.db"
  local log = opts.log_queries
  if log == nil then log = os.getenv("EARNORM_LOG_QUERIES") == "1" end
  local c = core.connect(url, { log_queries = log, prefetch = opts.prefetch })
  return setmetatable({
    _c = c, _models = {}, url = core.env_url(c), backend = core.backend(c), context = {},
  }, EnvMT)
end

--- The model `name` as an empty recordset (what env[name] gives).
function Env:model(name)
  local rs = self._models[name]
  if rs then return rs end
  if not model.registry[name] then
    local known = {}
    for k in pairs(model.registry) do known[#known + 1] = k end
    table.sort(known)
    error(core.new_error("ENOTFOUND", string.format("unknown model '%s'%s", tostring(name),
      #known > 0 and (" (known: " .. table.concat(known, ", ") .. ")") or
      " (no model is declared: load your models first)"), tostring(name)), 2)
  end
  rs = core.recordset(self, self._c, name)
  self._models[name] = rs
  return rs
end

--- Create or extend tables and indexes of every declared model.
-- Returns the list of statements it ran (or would run with dry_run).
function Env:migrate(opts)
  opts = opts or {}
  return core.migrate(self._c, opts.dry_run and true or false)
end

local ISOLATION = { ["read committed"] = 1, ["repeatable read"] = 2, ["serializable"] = 3 }

--- Run fn(env) in a transaction: commit when it returns, roll back and
-- re-raise when it fails. Nested calls become savepoints.
function Env:transaction(fn, opts)
  opts = opts or {}
  local iso = 0
  if opts.isolation ~= nil then
    iso = ISOLATION[opts.isolation]
    if not iso then
      error(core.new_error("EINVAL", string.format(
        "unknown isolation level '%s' (use \"read committed\", \"repeatable read\" or \"serializable\")",
        tostring(opts.isolation))), 2)
    end
  end
  core.begin(self._c, iso)
  local res = table.pack(pcall(fn, self))
  if res[1] then
    core.commit(self._c)
    return table.unpack(res, 2, res.n)
  end
  core.rollback(self._c)
  error(res[2], 0)
end

function Env:stats() return core.stats(self._c) end
function Env:reset_stats() core.reset_stats(self._c) end
function Env:ping() return core.ping(self._c) end
function Env:close() core.close(self._c) end
function Env:invalidate() core.invalidate_all(self._c) end
function Env:set_log(on) core.set_log(self._c, on and true or false) end
function Env:in_transaction() return core.txn_depth(self._c) > 0 end

--- How a search would run: the normalized domain and the backend's plan.
function Env:explain(name, domain, opts)
  opts = opts or {}
  return core.explain(self:model(name), domain or {}, opts.order, opts.limit, opts.offset)
end

M.Env = Env
return M
