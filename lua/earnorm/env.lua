--- Environments: orm.connect(url or options) returns one.
--
--   local env = orm.connect("sqlite://demo.db")
--   local env = orm.connect{ database = "sqlite::memory:", log_queries = true }
--   env["res.partner"]        -- the model, as an empty recordset
--   env:migrate()             -- create/extend tables and indexes
--   env:transaction(function(env) ... end)
--   env:stats(), env:ping(), env:close()
--
-- An env is an object with nothing to write into (a userdata): its state
-- is kept here, by env. Recordsets carry the env's other face, the one
-- `recs.env` gives: model code gets its records' env that way, so that
-- face has only what model code may do (model access, statistics,
-- transaction handlers, a transaction outside ORM operations) and none of
-- what belongs to the host (close, migrate, begin/commit/rollback, the
-- query log). Both faces compare equal. docs/sandbox.md lists the methods.
local core = require "earnorm.core"
local model = require "earnorm.model"

local M = {}
local Env = {}
local Face = {}

local byte, format = string.byte, string.format
local UNDERSCORE = byte("_")

-- env or face -> { env =, face =, c = (the CEnv), models = {}, frames =,
-- handlers =, url =, backend =, public = { what env.x gives the host } }
local priv = setmetatable({}, { __mode = "k" })

-- The state of an env given to one of its methods. The interpreter's
-- global `env` stands in for one until first used (bindings/cli): its
-- metatable's __env gives the env (only host code reaches these methods).
local function state(env)
  local S = priv[env]
  if S then return S end
  local mt = getmetatable(env)
  local get = type(mt) == "table" and rawget(mt, "__env")
  S = get and priv[get()]
  if not S then
    error(core.new_error("EINVAL", "an env method was called on something that is not an env"), 3)
  end
  return S
end

local function same_env(a, b)
  local x, y = priv[a], priv[b]
  return x ~= nil and rawequal(x, y)
end

local function is_model_name(key)
  -- private fields start with "_" (model names never do)
  return type(key) == "string" and byte(key, 1) ~= UNDERSCORE
end

local EnvMT = {
  __name = "earnorm.Env",
  __index = function(self, key)
    local m = Env[key]
    if m ~= nil then return m end
    local v = priv[self].public[key]
    if v ~= nil then return v end
    if is_model_name(key) then return self:model(key) end
    return nil
  end,
  -- the host's own fields (env.url = ... shadows the URL for the host only);
  -- env.context is the default context of its records (a table)
  __newindex = function(self, key, value)
    if key == "context" and (type(value) ~= "table" or core.is_recordset(value) or value == core.null) then
      error(core.new_error("EINVAL", "env.context must be a table (the default context of the "
        .. "env's records), got a " .. type(value)), 2)
    end
    priv[self].public[key] = value
  end,
  __tostring = function(self) return "earnorm.Env(" .. tostring(self.url) .. ")" end,
  __eq = same_env,
}

-- What the env of records refuses, and why.
local HOST_ONLY = "it belongs to the host, which owns the env"
local REFUSED = {
  close = HOST_ONLY, migrate = HOST_ONLY, set_log = HOST_ONLY, reset_stats = HOST_ONLY,
  invalidate = "the record cache belongs to the ORM operation that is running",
  begin = "begin/commit/rollback from model code would end the transaction of the operation "
    .. "that called it; use env:transaction(fn) outside ORM operations",
}
REFUSED.commit, REFUSED.rollback = REFUSED.begin, REFUSED.begin

local FaceMT = {
  __name = "earnorm.Env",
  __index = function(self, key)
    local m = Face[key]
    if m ~= nil then return m end
    local S = priv[self]
    if key == "url" then return S.url end
    if key == "backend" then return S.backend end
    -- the host's env.context, read-only (searches read active_test in it)
    if key == "context" then return core.readonly(S.public.context, "env.context") end
    -- the CEnv, for core.cenv(recs) (bindings/lua/recordset.c); opaque to Lua
    if key == "_c" then return S.c end
    local why = REFUSED[key]
    if why then
      return function()
        error(core.new_error("EINVAL", format(
          "env:%s() is not available through the env of records (model code): %s", key, why)), 2)
      end
    end
    if is_model_name(key) then return Env.model(S.env, key) end
    return nil
  end,
  __newindex = function(_, key)
    error(core.new_error("EINVAL", format("env.%s: the env of records is read-only",
                                          tostring(key))), 2)
  end,
  __tostring = function(self) return "earnorm.Env(" .. tostring(priv[self].url) .. ")" end,
  __eq = same_env,
  __metatable = "locked",
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
  local env, face = core.new_object(EnvMT), core.new_object(FaceMT)
  local S = { env = env, face = face, c = c, models = {}, url = core.env_url(c),
              backend = core.backend(c) }
  S.public = { url = S.url, backend = S.backend, context = {} }
  priv[env], priv[face] = S, S
  return env
end

--- The model `name` as an empty recordset (what env[name] gives).
function Env:model(name)
  if type(name) ~= "string" then
    einval("env:model expects a model name (a string), got a " .. type(name), 2)
  end
  local S = state(self)
  local rs = S.models[name]
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
  -- the records carry the env's face: what model code gets as recs.env
  rs = core.recordset(S.face, S.c, name)
  S.models[name] = rs
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
  local stmts = core.migrate(state(self).c, opts.dry_run and true or false)
  -- check constraints hold in the engine (docs/models.md): the records
  -- already there must pass them too
  for name in pairs(opts.dry_run and {} or model.registry) do
    for _, c in ipairs(model.checks_of(name)) do
      do
        local P = self:model(name)
        local total = P:search_count{}
        local good = total > 0 and P:search_count(c.domain) or 0
        if good < total then
          error(core.new_error("EVALIDATE", string.format(
            "%s: cannot add constraint %s: %d of %d records do not pass it (%s); fix them first",
            name, c.name, total - good, total, c.message), name), 2)
        end
      end
    end
  end
  return stmts
end

local ISOLATION = { ["read committed"] = 1, ["repeatable read"] = 2, ["serializable"] = 3 }
local TXN_EVENTS = { before_commit = true, after_commit = true, after_rollback = true }

-- Handlers of every env's transactions (orm.on) and of one env's (env:on).
local global = { before_commit = {}, after_commit = {}, after_rollback = {} }

--- At most this many handlers per event for orm.on and for each env's
-- env:on: they run in every later transaction, so registering without end
-- would make each of them slower. Handlers of one transaction
-- (env:on_commit and the like) run once and have no limit.
M.MAX_HANDLERS = 1000

local function add_handler(set, event, fn, level, method, max)
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
  local list = set[event]
  if max and #list >= max then
    error(core.new_error("ELIMIT", format("%s: more than %d handlers for '%s' (the limit per event)",
                                          method, max, event)), level + 1)
  end
  list[#list + 1] = fn
  return fn
end

--- orm.on(event, fn): a handler for the transactions of every env.
function M.on(event, fn) return add_handler(global, event, fn, 2, "orm.on", M.MAX_HANDLERS) end

--- env:on(event, fn): a handler for every transaction of this env.
function Env:on(event, fn)
  local S = state(self)
  local own = S.handlers
  if not own then
    own = { before_commit = {}, after_commit = {}, after_rollback = {} }
    S.handlers = own
  end
  return add_handler(own, event, fn, 2, "env:on", M.MAX_HANDLERS)
end

local function frames(env)
  local S = state(env)
  local f = S.frames
  if not f then
    f = {}
    S.frames = f
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

-- Run every handler of `event` from the given sets (each gets the env of
-- records); returns the first error. Past the time limit no further
-- handler runs: the error is returned for the caller to clean up and
-- raise (each handler would be stopped at once, but a model can register
-- many).
local function run_all(sets, event, env)
  local first
  local face = state(env).face
  for _, set in ipairs(sets) do
    local list = set[event]
    if list and #list > 0 then
      for _, h in ipairs({ table.unpack(list) }) do
        local late, msg = core.timed_out()
        if late then return first or msg end
        local ok, err = pcall(h, face)
        if not ok and first == nil then first = err end
      end
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
  core.begin(state(self).c, iso)
  local f = frames(self)
  f[#f + 1] = { before_commit = {}, after_commit = {}, after_rollback = {} }
end

--- Roll back the innermost level; after_rollback handlers run.
function Env:rollback()
  local f = frames(self)
  local top = current(self, "rollback")
  local S = state(self)
  local ok, err = pcall(core.rollback, S.c)
  f[#f] = nil
  local sets = { top }
  if #f == 0 then sets = { top, S.handlers or {}, global } end
  run_all(sets, "after_rollback", self)
  if not ok then error(err, 0) end
end

--- Commit the innermost level. At the outermost: before_commit handlers
-- (an error rolls everything back and is raised), COMMIT, then
-- after_commit handlers, which see the committed data.
function Env:commit()
  local S = state(self)
  local f = frames(self)
  local top = current(self, "commit")
  if #f > 1 then
    core.commit(S.c) -- RELEASE SAVEPOINT
    f[#f] = nil
    local parent = f[#f]
    for event, list in pairs(top) do
      for _, h in ipairs(list) do parent[event][#parent[event] + 1] = h end
    end
    return
  end
  local sets = { top, S.handlers or {}, global }
  local err = run_all(sets, "before_commit", self)
  if err ~= nil then
    self:rollback()
    error(handler_error(err, "before_commit"), 0)
  end
  local ok, cerr = pcall(core.commit, S.c)
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
function Env:capabilities() return core.capabilities(state(self).c) end

function Env:stats() return core.stats(state(self).c) end
function Env:reset_stats() core.reset_stats(state(self).c) end
function Env:ping() return core.ping(state(self).c) end
function Env:close() core.close(state(self).c) end
function Env:invalidate() core.invalidate_all(state(self).c) end
function Env:set_log(on) core.set_log(state(self).c, on and true or false) end
function Env:in_transaction() return core.txn_depth(state(self).c) > 0 end
function Env:transaction_depth() return core.txn_depth(state(self).c) end

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

-- ---------------------------------------------------------------------
-- The env of records (recs.env): what model code may do with its env.
-- Each method takes the face and works on the env behind it; functions
-- it calls back (a transaction's fn, handlers) get the face too.

local function env_of(face, method)
  local S = priv[face]
  if not S or not rawequal(S.face, face) then
    error(core.new_error("EINVAL", format("env:%s: called on something that is not an env", method)), 3)
  end
  return S.env, S
end

function Face:model(name) return Env.model((env_of(self, "model")), name) end
function Face:stats() return Env.stats((env_of(self, "stats"))) end
function Face:capabilities() return Env.capabilities((env_of(self, "capabilities"))) end
function Face:ping() return Env.ping((env_of(self, "ping"))) end
function Face:in_transaction() return Env.in_transaction((env_of(self, "in_transaction"))) end
function Face:transaction_depth() return Env.transaction_depth((env_of(self, "transaction_depth"))) end
function Face:explain(name, domain, opts) return Env.explain((env_of(self, "explain")), name, domain, opts) end
function Face:on(event, fn) return Env.on((env_of(self, "on")), event, fn) end
function Face:on_commit(fn) return Env.on_commit((env_of(self, "on_commit")), fn) end
function Face:before_commit(fn) return Env.before_commit((env_of(self, "before_commit")), fn) end
function Face:on_rollback(fn) return Env.on_rollback((env_of(self, "on_rollback")), fn) end

--- env:transaction(fn, { isolation = }) from model code: fn(env) in a
-- transaction (a savepoint inside one). Not inside an ORM operation (a
-- create, write or unlink running its handlers, validators or computed
-- fields): that one is atomic already, and its scope is not a
-- transaction the env's handlers may treat as committed. No retries:
-- retrying is the host's decision.
function Face:transaction(fn, opts)
  local env, S = env_of(self, "transaction")
  if type(opts) == "table" and rawget(opts, "retries") ~= nil then
    einval("env:transaction: retries are not available through the env of records (model code); "
      .. "the host decides whether to retry", 2)
  end
  if core.txn_depth(S.c) ~= #frames(env) then
    error(core.new_error("ETXNSTATE", "env:transaction: not available inside an ORM operation "
      .. "(its handlers, validators and computed fields run in its own atomic scope already)"), 2)
  end
  if type(fn) ~= "function" then
    einval("env:transaction expects a function, got a " .. type(fn), 2)
  end
  local face = self
  return Env.transaction(env, function() return fn(face) end, opts)
end

M.Env = Env
return M
