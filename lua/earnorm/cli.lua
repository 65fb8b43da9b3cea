--- The `earnorm` interpreter's Lua side: the global env, and the
-- subcommands (migrate, explain, stats). bindings/cli/main.c parses the
-- command line and calls these.
local M = {}

-- the database URL the command line picked (what `env` connects to)
local db_url = "sqlite://earnorm.db"

--- Load models and install the globals `orm` and `env`. The env connects
-- on first use, so a script that never touches it creates no database.
function M.setup(opts)
  local orm = require "earnorm"
  _G.orm = orm
  if opts.models then orm.load_models(opts.models) end
  local real
  db_url = opts.db or "sqlite://earnorm.db"
  M.log_queries = opts.log_queries
  local function get()
    if not real then
      -- main.c already consulted $EARNORM_DATABASE_URL (unless -E): never
      -- let orm.connect fall back to it behind the command line's back
      real = orm.connect{ database = db_url, log_queries = opts.log_queries }
    end
    return real
  end
  _G.env = setmetatable({}, {
    __name = "earnorm.Env",
    __env = get,  -- env methods called on this stand-in work on the env (earnorm/env.lua)
    __index = function(_, k) return get()[k] end,
    __newindex = function(_, k, v) get()[k] = v end,
    __tostring = function() return tostring(get()) end,
  })
end

-- SQLite: the file a URL names (nil for :memory:), from the URL text.
local function sqlite_file(url)
  local rest = url:match("^sqlite3?:(.*)$")
  if not rest then return nil end
  rest = rest:gsub("^//", ""):gsub("%?.*$", "")
  if rest == ":memory:" or rest == "" then return nil end
  return rest
end

local function file_exists(path)
  local fh = io.open(path, "rb")
  if fh then fh:close() end
  return fh ~= nil
end

-- The env a dry run reads: nothing may change on disk, so on SQLite the
-- file is opened read-only, and a file that does not exist yet is not
-- created (an empty in-memory database stands for it).
local function dry_run_env()
  local orm = require "earnorm"
  local file = sqlite_file(db_url)
  if not file then return env, tostring(env.url) end
  if not file_exists(file) then
    return orm.connect{ database = "sqlite::memory:", log_queries = M.log_queries }, db_url
  end
  local sep = db_url:find("?", 1, true) and "&" or "?"
  local e = orm.connect{ database = db_url .. sep .. "mode=ro", log_queries = M.log_queries }
  return e, db_url
end

function M.migrate(opts)
  local target, shown = env, nil
  if opts.dry_run then target, shown = dry_run_env() end
  local stmts = target:migrate{ dry_run = opts.dry_run }
  for _, s in ipairs(stmts) do print(s) end
  local n = 0
  for _, s in ipairs(stmts) do if s:sub(1, 2) ~= "--" then n = n + 1 end end
  print(string.format("-- %s: %d statement%s%s", shown or tostring(env.url), n, n == 1 and "" or "s",
                      opts.dry_run and " (dry run: nothing changed)" or ""))
  if target ~= env then target:close() end
end

--- Parse a domain written as a Lua table or as JSON.
local function parse_domain(text)
  if text == nil or text == "" then return {} end
  local chunk = load("return " .. text, "=domain", "t", { null = orm.null })
  if chunk then
    local ok, v = pcall(chunk)
    if ok and type(v) == "table" then return v end
  end
  local ok, v = pcall(orm.json.decode, text)
  if ok and type(v) == "table" then return v end
  error("cannot read the domain " .. text .. " (write a Lua table or JSON)", 0)
end

function M.explain(model, domain, opts)
  print(env:explain(model, parse_domain(domain), opts))
end

function M.stats()
  -- a server that cannot be reached at all is an answer, not a traceback
  local ok, p = pcall(function() return env:ping() end)
  if not ok then
    local msg = type(p) == "table" and p.message or tostring(p)
    print(string.format("backend: %s  reachable: false  error: %s",
                        db_url:match("^([%w+.-]+):") or "?", msg))
    return false
  end
  print(string.format("backend: %s  reachable: %s  latency: %.3f ms%s", p.backend,
                      tostring(p.ok), p.latency_ms, p.error and ("  error: " .. p.error) or ""))
  local s = env:stats()
  print(string.format("queries: %d (select %d, insert %d, update %d, delete %d)", s.queries,
                      s.by_kind.select, s.by_kind.insert, s.by_kind.update, s.by_kind.delete))
  print(string.format("record store: %d records, %d hits, %d misses", s.store.records,
                      s.store.hits, s.store.misses))
  local pl = s.pool
  print(string.format("pool: %d connections (%d in use, %d idle, max %d), %d acquires, "
                      .. "%d waits (%.3f ms), %d timeouts, %d errors, %d reconnects",
                      pl.size, pl.in_use, pl.idle, pl.max, pl.acquires, pl.waits, pl.wait_ms,
                      pl.timeouts, pl.errors, pl.reconnects))
  return p.ok
end

return M
