-- The connection pool seen from Lua: orm.connect{ pool = {...} } options,
-- the figures in env:stats().pool, and what `earnorm stats` prints.
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

orm.model("pool.thing", { name = f.Char{} })

local FIELDS = { "size", "in_use", "idle", "max", "acquires", "waits", "wait_ms", "timeouts",
                 "errors", "reconnects", "opened", "closed" }

local function tmpdir()
  local p = assert(io.popen("mktemp -d"))
  local dir = p:read("l")
  p:close()
  assert(dir and dir:match("^/tmp/"), "mktemp -d failed")
  return dir
end

describe("pool", function()
  local dir, url

  before_each(function()
    dir = tmpdir()
    url = "sqlite://" .. dir .. "/pool.db"
  end)

  after_each(function()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("env:stats().pool has every figure, as numbers", function()
    local env = orm.connect{ database = url, pool = { min = 1, max = 3, timeout = 250 } }
    local p = env:stats().pool
    assert.is_table(p)
    for _, k in ipairs(FIELDS) do
      assert.are.equal("number", type(p[k]), "pool." .. k)
    end
    assert.are.equal(3, p.max)
    assert.are.equal(1, p.size) -- min is opened at connect
    assert.are.equal(0, p.in_use)
    assert.are.equal(p.size, p.idle)
    assert.is_true(p.acquires >= 1)
    assert.are.equal(p.size, p.opened - p.closed)
    assert.are.equal(0, p.waits)
    assert.are.equal(0, p.wait_ms)
    assert.are.equal(0, p.timeouts)
    assert.are.equal(0, p.errors)
    assert.are.equal(0, p.reconnects)
    env:close()
  end)

  it("counts acquires per statement and holds one connection per transaction", function()
    local env = orm.connect{ database = url, pool = { max = 2 } }
    env:migrate()
    local a0 = env:stats().pool.acquires
    env["pool.thing"]:create{ name = "x" }
    env["pool.thing"]:search_count{}
    env["pool.thing"]:search_count{}
    local p = env:stats().pool
    assert.is_true(p.acquires >= a0 + 3, "acquires " .. a0 .. " -> " .. p.acquires)
    assert.are.equal(0, p.in_use)
    env:transaction(function(e)
      local q = e:stats().pool
      assert.are.equal(1, q.in_use)
      local a1 = q.acquires
      e["pool.thing"]:search_count{}
      e["pool.thing"]:create{ name = "y" }
      -- the pinned connection serves every statement of the transaction
      assert.are.equal(a1, e:stats().pool.acquires)
      assert.are.equal(1, e:stats().pool.in_use)
    end)
    p = env:stats().pool
    assert.are.equal(0, p.in_use)
    assert.is_true(p.size <= 2)
    env:close()
  end)

  it("sqlite::memory: is one connection, whatever max says", function()
    local env = orm.connect{ database = "sqlite::memory:", pool = { max = 8, idle_timeout = 1 } }
    env:migrate()
    env["pool.thing"]:create{ name = "kept" }
    assert.are.equal(1, env:stats().pool.max)
    assert.are.equal(1, env["pool.thing"]:search_count{})
    env:close()
  end)

  it("URL options override the pool table", function()
    local env = orm.connect{ database = url .. "?pool_max=2&pool_min=2", pool = { max = 6 } }
    local p = env:stats().pool
    assert.are.equal(2, p.max)
    assert.are.equal(2, p.size)
    env:close()
  end)

  it("refuses bad pool options", function()
    local err = h.error_of(orm.connect, { database = url, pool = { max = -1 } })
    assert.are.equal("EINVAL", err.code)
    assert.matches("pool.max must be a non-negative integer", err.message, 1, true)
    err = h.error_of(orm.connect, { database = url, pool = { timeout = 1.5 } })
    assert.are.equal("EINVAL", err.code)
    err = h.error_of(orm.connect, { database = url, pool = 4 })
    assert.are.equal("EINVAL", err.code)
    assert.matches("pool must be a table", err.message, 1, true)
    err = h.error_of(orm.connect, url .. "?pool_max=lots")
    assert.are.equal("EINVAL", err.code)
    assert.matches("pool options in the URL", err.message, 1, true)
  end)

  it("a server that refuses connections fails after the retries with ECONN", function()
    local s = assert(io.popen("python3 -c \"import socket; s = socket.socket(); "
                              .. "s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])\""))
    local port = tonumber(s:read("l"))
    s:close()
    local t0 = os.clock()
    local err = h.error_of(orm.connect, {
      database = "postgresql://postgres@127.0.0.1:" .. port .. "/x", pool = { retries = 1 } })
    assert.are.equal("ECONN", err.code)
    assert.matches("127.0.0.1:" .. port, err.message, 1, true)
    assert.is_true(os.clock() - t0 < 5)
  end)

  it("`earnorm stats` reports the pool", function()
    local p = assert(io.popen(h.bin .. " stats --db '" .. url .. "' 2>&1"))
    local out = p:read("a")
    local ok = p:close()
    assert.is_true(ok, out)
    assert.matches("^backend: sqlite", out)
    -- the pool's figures, next to queries and the record store
    assert.matches("pool", out, 1, true)
    assert.matches("pool[^\n]*%d+[^\n]*%d+", out)
  end)
end)
