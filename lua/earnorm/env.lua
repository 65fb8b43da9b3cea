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
    -- private fields start with "_" (model names never do)
    if type(key) == "string" and key:sub(1, 1) ~= "_" then return self:model(key) end
    return nil
  end,
  __tostring = function(self) return "earnorm.Env(" .. tostring(self.url) .. ")" end,
}

local function einval(msg, level)
  error(core.new_error("EINVAL", msg), level + 1)
end

local CONNECT_OPTS = { "database", "url", "log_queries", "prefetch", "pool", "cache" }

-- The words EARNORM_LOG_QUERIES may hold (the interpreter reads the same).
local SWITCH = { ["1"] = true, ["true"] = true, yes = true, on = true,
                 ["0"] = false, ["false"] = false, no = false, off = false, [""] = false }

--- EARNORM_LOG_QUERIES as a boolean: 1/0, true/false, yes/no, on/off (any
-- case; empty is off); anything else is an error, never "off".
function M.log_queries_env()
  local v = os.getenv("EARNORM_LOG_QUERIES")
  if v == nil then return false end
  local b = SWITCH[v:lower()]
  if b == nil then
    error(core.new_error("EINVAL", string.format(
      "EARNORM_LOG_QUERIES=%q: use 1 or 0 (or true/false, yes/no, on/off)", v)), 0)
  end
  return b
end

--- orm.connect(url) or orm.connect{ database = url, log_queries = bool, prefetch = n,
--   pool = { min =, max =, timeout = ms, idle_timeout = ms, max_lifetime = ms, retries = n } }
function M.connect(opts)
  if type(opts) == "string" then opts = { database = opts } end
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    einval("orm.connect expects a URL or an options table, got a " .. type(opts), 2)
  end
  core.check_options(opts, CONNECT_OPTS, "orm.connect")
  if opts.cache ~= nil then
    error(core.new_error("ENOTSUP", "orm.connect: cache: the cache is not built yet (only the "
      .. "in-process record store exists); leave cache out"), 2)
  end
  if opts.database ~= nil and opts.url ~= nil and opts.database ~= opts.url then
    einval("orm.connect: give database or url, not both", 2)
  end
  local url = opts.database or opts.url
  if url ~= nil and type(url) ~= "string" then
    einval("orm.connect: database must be a URL (a string), got a " .. type(url), 2)
  end
  url = url or os.getenv("EARNORM_DATABASE_URL") or "sqlite://earnorm.db"
  local log = opts.log_queries
  if log ~= nil and type(log) ~= "boolean" then
    einval("orm.connect: log_queries must be true or false, got a " .. type(log), 2)
  end
  if log == nil then log = M.log_queries_env() end
  local pf = opts.prefetch
  if pf ~= nil and (math.type(pf) ~= "integer" or pf <= 0) then
    einval("orm.connect: prefetch must be a positive integer, got " .. tostring(pf), 2)
  end
  local pool = opts.pool
  if pool ~= nil and type(pool) ~= "table" and type(pool) ~= "userdata" then
    einval("orm.connect: pool must be a table (min, max, timeout, idle_timeout, max_lifetime, "
      .. "retries), got a " .. type(pool), 2)
  end
  local c = core.connect(url, { log_queries = log, prefetch = pf, pool = pool })
  return setmetatable({
    _c = c, _models = {}, url = core.env_url(c), backend = core.backend(c), context = {},
  }, EnvMT)
end

--- The model `name` as an empty recordset (what env[name] gives).
function Env:model(name)
  if type(name) ~= "string" then
    einval("env:model expects a model name (a string), got a " .. type(name), 2)
  end
  local rs = self._models[name]
  if rs then return rs end
  if not model.registry[name] then
    local known = {}
    for k in pairs(model.registry) do known[#known + 1] = k end
    table.sort(known)
    local close = #known > 0 and core.closest(name, known)
    error(core.new_error("ENOTFOUND", string.format("unknown model '%s'%s", name,
      close and (" (did you mean '" .. close .. "'?)") or
      #known > 0 and (" (known: " .. table.concat(known, ", ") .. ")") or
      " (no model is declared: load your models first)"), name), 2)
  end
  rs = core.recordset(self, self._c, name)
  self._models[name] = rs
  return rs
end

--- Create or extend tables and indexes of every declared model.
-- Returns the list of statements it ran (or would run with dry_run).
function Env:migrate(opts)
  core.check_options(opts, { "dry_run" }, "env:migrate")
  opts = opts or {}
  if opts.dry_run ~= nil and type(opts.dry_run) ~= "boolean" then
    einval("env:migrate: dry_run must be true or false, got a " .. type(opts.dry_run), 2)
  end
  return core.migrate(self._c, opts.dry_run and true or false)
end

local ISOLATION = { ["read committed"] = 1, ["repeatable read"] = 2, ["serializable"] = 3 }
local TXN_EVENTS = { before_commit = true, after_commit = true, after_rollback = true }

-- Handlers of every env's transactions (orm.on) and of one env's (env:on).
local global = { before_commit = {}, after_commit = {}, after_rollback = {} }

local function add_handler(set, event, fn, level, method)
  if not TXN_EVENTS[event] then
    local close = type(event) == "string" and
      core.closest(event, { "before_commit", "after_commit", "after_rollback" })
    error(core.new_error("EINVAL", string.format(
      "%s: unknown transaction event '%s' (%s)", method, tostring(event),
      close and ("did you mean '" .. close .. "'?") or "before_commit, after_commit, after_rollback")),
      level + 1)
  end
  if type(fn) ~= "function" then
    error(core.new_error("EINVAL", method .. ": a transaction handler must be a function, got a "
      .. type(fn)), level + 1)
  end
  set[event][#set[event] + 1] = fn
  return fn
end

--- orm.on(event, fn): a handler for the transactions of every env.
function M.on(event, fn) return add_handler(global, event, fn, 2, "orm.on") end

--- env:on(event, fn): a handler for every transaction of this env.
function Env:on(event, fn)
  local own = self._handlers
  if not own then
    own = { before_commit = {}, after_commit = {}, after_rollback = {} }
    self._handlers = own
  end
  return add_handler(own, event, fn, 2, "env:on")
end

local function frames(env)
  local f = env._frames
  if not f then
    f = {}
    env._frames = f
  end
  return f
end

local function current(env, what)
  local f = frames(env)
  local top = f[#f]
  if not top then
    error(core.new_error("ETXNSTATE", what .. " outside a transaction (use env:transaction or env:begin)"), 3)
  end
  return top
end

--- Handlers for the current transaction only: run when it (the outermost
-- level) commits or rolls back. Registered in a savepoint that rolls back,
-- they are dropped (after_rollback ones run then).
function Env:on_commit(fn)
  return add_handler(current(self, "on_commit"), "after_commit", fn, 2, "env:on_commit")
end
function Env:before_commit(fn)
  return add_handler(current(self, "before_commit"), "before_commit", fn, 2, "env:before_commit")
end
function Env:on_rollback(fn)
  return add_handler(current(self, "on_rollback"), "after_rollback", fn, 2, "env:on_rollback")
end

-- Run every handler of `event` from the given sets; returns the first error.
local function run_all(sets, event, env)
  local first
  for _, set in ipairs(sets) do
    for _, h in ipairs({ table.unpack(set[event] or {}) }) do
      local ok, err = pcall(h, env)
      if not ok and first == nil then first = err end
    end
  end
  return first
end

local function handler_error(err, event)
  if core.is_error(err) then return err end
  return core.new_error("ERROR", string.format("error in %s handler: %s", event, tostring(err)),
                        nil, nil, "LUA")
end

local function isolation_of(opts, level, method)
  if opts == nil or opts.isolation == nil then return 0 end
  local iso = ISOLATION[opts.isolation]
  if not iso then
    local close = type(opts.isolation) == "string" and
      core.closest(opts.isolation, { "read committed", "repeatable read", "serializable" })
    error(core.new_error("EINVAL", string.format(
      "%s: unknown isolation level '%s' (%s)", method, tostring(opts.isolation),
      close and ("did you mean \"" .. close .. "\"?") or
      "use \"read committed\", \"repeatable read\" or \"serializable\"")), level + 1)
  end
  return iso
end

--- Begin a transaction (a savepoint when one is open). Prefer env:transaction.
function Env:begin(opts)
  core.check_options(opts, { "isolation" }, "env:begin")
  local iso = isolation_of(opts, 2, "env:begin")
  core.begin(self._c, iso)
  local f = frames(self)
  f[#f + 1] = { before_commit = {}, after_commit = {}, after_rollback = {} }
end

--- Roll back the innermost level; after_rollback handlers run.
function Env:rollback()
  local f = frames(self)
  local top = current(self, "rollback")
  local ok, err = pcall(core.rollback, self._c)
  f[#f] = nil
  local sets = { top }
  if #f == 0 then sets = { top, self._handlers or {}, global } end
  run_all(sets, "after_rollback", self)
  if not ok then error(err, 0) end
end

--- Commit the innermost level. At the outermost: before_commit handlers
-- (an error rolls everything back and is raised), COMMIT, then
-- after_commit handlers, which see the committed data.
function Env:commit()
  local f = frames(self)
  local top = current(self, "commit")
  if #f > 1 then
    core.commit(self._c) -- RELEASE SAVEPOINT
    f[#f] = nil
    local parent = f[#f]
    for event, list in pairs(top) do
      for _, h in ipairs(list) do parent[event][#parent[event] + 1] = h end
    end
    return
  end
  local sets = { top, self._handlers or {}, global }
  local err = run_all(sets, "before_commit", self)
  if err ~= nil then
    self:rollback()
    error(handler_error(err, "before_commit"), 0)
  end
  local ok, cerr = pcall(core.commit, self._c)
  f[#f] = nil
  if not ok then
    -- the server refused the commit: the transaction is gone
    run_all(sets, "after_rollback", self)
    error(cerr, 0)
  end
  err = run_all(sets, "after_commit", self)
  if err ~= nil then error(handler_error(err, "after_commit"), 0) end
end

local function retryable(err)
  -- serialization failures, deadlocks and a busy database: try again
  return core.is_error(err) and err.code == "EBUSY"
end

--- Run fn(env) in a transaction: commit when it returns, roll back and
-- re-raise when it fails. Nested calls become savepoints.
-- opts.isolation: "read committed" | "repeatable read" | "serializable";
-- opts.retries: run fn again (with backoff) after a serialization failure
-- or deadlock, up to this many times (outermost transactions only).
function Env:transaction(fn, opts)
  if type(fn) ~= "function" then
    einval("env:transaction expects a function, got a " .. type(fn), 2)
  end
  core.check_options(opts, { "isolation", "retries" }, "env:transaction")
  opts = opts or {}
  local retries = opts.retries or 0
  if math.type(retries) ~= "integer" or retries < 0 then
    einval("env:transaction: retries must be a non-negative integer, got " .. tostring(retries), 2)
  end
  isolation_of(opts, 2, "env:transaction")
  local depth = #frames(self)
  local outermost = depth == 0
  local delay = 10
  for attempt = 0, retries do
    self:begin{ isolation = opts.isolation }
    local res = table.pack(pcall(fn, self))
    local err
    if res[1] then
      local ok, cerr = pcall(self.commit, self)
      if ok then return table.unpack(res, 2, res.n) end
      err = cerr
    else
      err = res[2]
      -- undo our level, and any fn left open
      while #frames(self) > depth do
        if not pcall(self.rollback, self) then frames(self)[#frames(self)] = nil end
      end
    end
    if not (outermost and attempt < retries and retryable(err)) then
      error(err, 0)
    end
    -- back off with jitter before the next attempt
    core.sleep(delay // 2 + math.random(0, delay // 2))
    delay = math.min(delay * 2, 1000)
  end
end

--- What the server can do: { transactions =, savepoints =, server_group =, server = }.
function Env:capabilities() return core.capabilities(self._c) end

function Env:stats() return core.stats(self._c) end
function Env:reset_stats() core.reset_stats(self._c) end
function Env:ping() return core.ping(self._c) end
function Env:close() core.close(self._c) end
function Env:invalidate() core.invalidate_all(self._c) end
function Env:set_log(on) core.set_log(self._c, on and true or false) end
function Env:in_transaction() return core.txn_depth(self._c) > 0 end
function Env:transaction_depth() return core.txn_depth(self._c) end

--- How a search would run: the normalized domain and the backend's plan.
function Env:explain(name, domain, opts)
  if type(name) ~= "string" then
    einval("env:explain expects a model name (a string), got a " .. type(name), 2)
  end
  if domain ~= nil and type(domain) ~= "table" then
    einval("env:explain: a domain must be a list of leaves (a table), got a " .. type(domain), 2)
  end
  core.check_options(opts, { "order", "limit", "offset" }, "env:explain")
  opts = opts or {}
  return core.explain(self:model(name), domain or {}, opts.order, opts.limit, opts.offset)
end

M.Env = Env
return M
